"""``podsleuth manifests --namespace-scoped``: what an installer without cluster rights can apply.

No ClusterRole, ClusterRoleBinding, Namespace or node agent; a read Role + RoleBinding in each
watched namespace, exactly the namespaced part of the cluster-wide grants; and the render still
passes the checks every other variant passes (strict schemas, no wildcard, no Secrets).
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import yaml

from tests.deploy import test_manifests_match_k8s_schemas as schemas
from tests.deploy import test_rbac_is_least_privilege as least
from tests.deploy import test_workloads_are_hardened as hardened
from tests.deploy.conftest import by_kind, objects, one

CLUSTER_ONLY = {("", "nodes"), ("", "persistentvolumes"), ("storage.k8s.io", "csidrivers"),
                ("storage.k8s.io", "csinodes")}
CLUSTER_KINDS = {"ClusterRole", "ClusterRoleBinding", "Namespace", "DaemonSet"}


def _scoped(**kwargs: Any) -> list[dict[str, Any]]:
    return objects(namespace="team-a", namespace_scoped=True, **kwargs)


def test_nothing_needs_cluster_rights() -> None:
    objs = _scoped(watch_namespaces=("team-a", "team-b"))
    assert not [o["kind"] for o in objs if o["kind"] in CLUSTER_KINDS]
    assert all(o["metadata"].get("namespace") in {"team-a", "team-b"} for o in objs)
    assert [s["metadata"]["name"] for s in by_kind(objs, "ServiceAccount")] == ["podsleuth-watcher"]


def test_each_watched_namespace_gets_exactly_the_namespaced_reads() -> None:
    objs = _scoped(watch_namespaces=("team-a", "team-b"))
    roles = {r["metadata"]["namespace"]: r for r in by_kind(objs, "Role")
             if r["metadata"]["name"] == "podsleuth-watcher-watch"}
    assert set(roles) == {"team-a", "team-b"}
    expected = {k: v for k, v in least.WATCHER_ALLOWED.items() if k not in CLUSTER_ONLY}
    for role in roles.values():
        assert least._grants(role["rules"]) == expected
    bindings = [b for b in by_kind(objs, "RoleBinding") if b["roleRef"]["name"] == "podsleuth-watcher-watch"]
    assert {b["metadata"]["namespace"] for b in bindings} == {"team-a", "team-b"}
    for b in bindings:
        assert b["roleRef"]["kind"] == "Role"
        watcher = {"kind": "ServiceAccount", "name": "podsleuth-watcher", "namespace": "team-a"}
        assert b["subjects"] == [watcher]
    lease = [r for r in by_kind(objs, "Role") if r["metadata"]["name"] == "podsleuth-watcher"]
    assert [r["metadata"]["namespace"] for r in lease] == ["team-a"]
    assert least._grants(lease[0]["rules"]) == least.LEASES


def test_the_watcher_watches_those_namespaces_with_node_agents_off() -> None:
    config = yaml.safe_load(one(_scoped(), "ConfigMap")["data"]["config.yaml"])
    assert config["watch"]["namespaces"] == ["team-a"]
    assert config["node_agents"] == {"discovery": "off"}


def test_a_config_namespace_is_covered_by_a_role_too(tmp_path: Any) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("watch:\n  namespaces: [shop]\n")
    objs = _scoped(config_path=path, watch_namespaces=("team-b",))
    config = yaml.safe_load(one(objs, "ConfigMap")["data"]["config.yaml"])
    assert config["watch"]["namespaces"] == ["shop", "team-b"]
    assert {r["metadata"]["namespace"] for r in by_kind(objs, "RoleBinding")} == {"shop", "team-b", "team-a"}


@pytest.mark.parametrize("version", schemas.VERSIONS)
def test_passes_the_checks_of_every_variant(version: str) -> None:
    variant = ("namespace-scoped", _scoped(watch_namespaces=("team-a", "team-b")))
    schemas.test_core_objects_validate_strictly(variant, version)
    least.test_every_rule_everywhere_is_wildcard_free_and_never_touches_secrets(variant)
    hardened.test_watcher_is_non_root_read_only_and_capability_free(variant)
    hardened.test_services_select_pods_with_the_named_port(variant)


def _manifests(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "podsleuth", "manifests", *args],
                          capture_output=True, text=True, timeout=60)


def test_cli_flag_renders_roles_and_says_what_is_lost() -> None:
    result = _manifests("-n", "team-a", "--namespace-scoped")
    assert result.returncode == 0, result.stderr
    kinds = [d["kind"] for d in yaml.safe_load_all(result.stdout) if d]
    assert "ClusterRole" not in kinds and "DaemonSet" not in kinds
    assert kinds.count("Role") == 2 and kinds.count("RoleBinding") == 2
    assert "namespace team-a must exist" in result.stderr and "no node detection" in result.stderr


def test_cli_refuses_the_node_agent_without_cluster_rights() -> None:
    result = _manifests("-n", "team-a", "--namespace-scoped", "--node-agent")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "--node-agent needs cluster rights" in result.stderr
    bad = _manifests("--namespace-scoped", "--watch-namespace", "Team_B")
    assert bad.returncode == 2 and "--watch-namespace 'Team_B'" in bad.stderr
