"""RBAC grants exactly what the code calls, in every variant: no wildcard, no Secrets.

The expected sets are written out here, not imported from ``podsleuth.deploy.rbac``, so that
widening a permission needs a change in two places and shows up in review.
"""

from __future__ import annotations

from typing import Any

from tests.deploy.conftest import by_kind, objects

WATCHER_ALLOWED = {
    ("", "pods"): {"get", "list", "watch"},
    ("", "pods/log"): {"get"},
    ("", "serviceaccounts"): {"get"},  # imagePullSecrets names of a refused pull's pod
    ("", "events"): {"get", "list", "watch", "create"},
    ("events.k8s.io", "events"): {"get", "list", "watch", "create"},
    ("", "nodes"): {"get", "list", "watch"},
    ("", "persistentvolumeclaims"): {"get", "list", "watch"},
    ("", "persistentvolumes"): {"get", "list", "watch"},
    ("storage.k8s.io", "csidrivers"): {"get", "list", "watch"},
    ("storage.k8s.io", "csinodes"): {"get", "list", "watch"},
}
LEASES = {("coordination.k8s.io", "leases"): {"get", "create", "update"}}
AGENT_ALLOWED = {("authentication.k8s.io", "tokenreviews"): {"create"}}


def _grants(rules: list[dict[str, Any]]) -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    for rule in rules:
        assert set(rule) <= {"apiGroups", "resources", "verbs", "resourceNames"}, rule
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[field], f"wildcard in {field}: {rule}"
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                out.setdefault((group, resource), set()).update(rule["verbs"])
    return out


def _role(objs: list[dict[str, Any]], kind: str, component: str) -> dict[str, Any]:
    [role] = [o for o in by_kind(objs, kind)
              if o["metadata"]["labels"]["app.kubernetes.io/component"] == component]
    return role


def test_every_rule_everywhere_is_wildcard_free_and_never_touches_secrets(variant: Any) -> None:
    _, objs = variant
    for role in by_kind(objs, "ClusterRole") + by_kind(objs, "Role"):
        grants = _grants(role["rules"])
        assert not any(res == "secrets" or res.startswith("secrets/") for _, res in grants), role
        verbs = set().union(*grants.values())
        assert not verbs & {"escalate", "bind", "impersonate", "delete", "deletecollection", "patch"}


def test_watcher_cluster_role_is_exactly_read_plus_event_create(variant: Any) -> None:
    _, objs = variant
    assert _grants(_role(objs, "ClusterRole", "watcher")["rules"]) == WATCHER_ALLOWED


def test_watcher_leases_only_in_its_namespace_and_only_its_own_lease() -> None:
    objs = objects(namespace="other")
    [role] = by_kind(objs, "Role")
    assert role["metadata"]["namespace"] == "other"
    assert _grants(role["rules"]) == LEASES
    for rule in role["rules"]:
        if set(rule["verbs"]) & {"get", "update"}:
            assert rule["resourceNames"] == ["podsleuth-watcher"]
    [binding] = by_kind(objs, "RoleBinding")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": role["metadata"]["name"]}
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "podsleuth-watcher", "namespace": "other"}]


def test_node_agent_may_only_create_tokenreviews() -> None:
    objs = objects()
    assert _grants(_role(objs, "ClusterRole", "node-agent")["rules"]) == AGENT_ALLOWED


def test_bindings_point_at_the_roles_and_service_accounts_of_this_install(variant: Any) -> None:
    _, objs = variant
    roles = {o["metadata"]["name"] for o in by_kind(objs, "ClusterRole")}
    accounts = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in by_kind(objs, "ServiceAccount")}
    bindings = by_kind(objs, "ClusterRoleBinding")
    assert len(bindings) == len(roles)
    for b in bindings:
        assert b["roleRef"]["name"] in roles
        for s in b["subjects"]:
            assert (s["namespace"], s["name"]) in accounts


def test_no_agent_means_no_agent_rbac() -> None:
    objs = objects(node_agent=False)
    names = {o["metadata"]["name"] for o in objs if o["kind"] in ("ClusterRole", "ServiceAccount")}
    assert names == {"podsleuth-watcher"}


def test_cluster_scoped_names_are_per_namespace_so_installs_do_not_collide() -> None:
    default = {o["metadata"]["name"] for o in by_kind(objects(), "ClusterRole")}
    other = {o["metadata"]["name"] for o in by_kind(objects(namespace="other"), "ClusterRole")}
    assert not default & other
