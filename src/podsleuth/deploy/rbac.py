"""ServiceAccounts and RBAC: the least each component needs, nothing that reads Secrets.

Every rule exists because a piece of code calls that API; docs/deploy.md explains each line.
The tests assert the exact verb set, so widening a rule is a deliberate, reviewed change.
"""

from __future__ import annotations

from podsleuth.deploy.common import AGENT, WATCHER, DeployOptions, Obj, cluster_name, meta

READ = ["get", "list", "watch"]

# (apiGroups, resources, verbs), cluster-wide. Read access is to what the watcher lists and
# watches (pods, events, nodes) and what the diagnoser looks up for evidence (previous
# container logs, the PVC -> PV -> CSI driver chain, CSINode for per-node driver registration,
# and a pod's ServiceAccount for the *names* of its imagePullSecrets when a registry refused a
# pull: ``get`` only, one object per diagnosis; the Secrets themselves are never read).
WATCHER_CLUSTER_RULES: list[tuple[list[str], list[str], list[str]]] = [
    ([""], ["events", "nodes", "persistentvolumeclaims", "persistentvolumes", "pods"], READ),
    ([""], ["pods/log", "serviceaccounts"], ["get"]),
    ([""], ["events"], ["create"]),
    (["events.k8s.io"], ["events"], READ),
    (["events.k8s.io"], ["events"], ["create"]),
    (["storage.k8s.io"], ["csidrivers", "csinodes"], READ),
]

# Leader election, only in the install namespace. ``create`` cannot be limited by name in
# RBAC; get/update are limited to the one Lease the watchers compete for.
LEASE_NAME = WATCHER

AGENT_CLUSTER_RULES: list[tuple[list[str], list[str], list[str]]] = [
    (["authentication.k8s.io"], ["tokenreviews"], ["create"]),
]

CLUSTER_SCOPED = frozenset({"nodes", "persistentvolumes", "csidrivers", "csinodes"})
"""Resources a Role cannot grant: a namespace-scoped watcher goes without them (no node
detection; diagnoses say the node, PV and CSI facts were unavailable, at lower confidence)."""

WATCH_ROLE = f"{WATCHER}-watch"
"""The namespace-scoped read Role (the Lease Role in the install namespace is ``WATCHER``)."""


def namespaced_watcher_rules() -> list[tuple[list[str], list[str], list[str]]]:
    """``WATCHER_CLUSTER_RULES`` without what only a ClusterRole can grant."""
    out = []
    for groups, resources, verbs in WATCHER_CLUSTER_RULES:
        kept = [r for r in resources if r not in CLUSTER_SCOPED]
        if kept:
            out.append((groups, kept, verbs))
    return out


def _rules(spec: list[tuple[list[str], list[str], list[str]]]) -> list[Obj]:
    return [
        {"apiGroups": sorted(groups), "resources": sorted(resources), "verbs": sorted(verbs)}
        for groups, resources, verbs in spec
    ]


def service_accounts(opts: DeployOptions) -> list[Obj]:
    out = [_service_account(opts, WATCHER, "watcher")]
    if opts.node_agent:
        out.append(_service_account(opts, AGENT, "node-agent"))
    return out


def _service_account(opts: DeployOptions, name: str, component: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta(name, component, opts.namespace),
        "automountServiceAccountToken": True,
    }


def _cluster_role(opts: DeployOptions, name: str, component: str, rules: list[Obj]) -> Obj:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": meta(cluster_name(opts, name), component),
        "rules": rules,
    }


def _binding(opts: DeployOptions, kind: str, name: str, component: str, *, namespaced: bool) -> Obj:
    role_name = name if namespaced else cluster_name(opts, name)
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": f"{kind}Binding",
        "metadata": meta(role_name, component, opts.namespace if namespaced else None),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role_name},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": opts.namespace}],
    }


def watch_roles(opts: DeployOptions) -> list[Obj]:
    """Namespace-scoped mode: a read Role and its RoleBinding in each watched namespace, bound
    to the watcher's ServiceAccount of the install namespace."""
    out: list[Obj] = []
    for ns in opts.watch_namespaces:
        out.append({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta(WATCH_ROLE, "watcher", ns),
            "rules": _rules(namespaced_watcher_rules()),
        })
        out.append({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta(WATCH_ROLE, "watcher", ns),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": WATCH_ROLE},
            "subjects": [{"kind": "ServiceAccount", "name": WATCHER, "namespace": opts.namespace}],
        })
    return out


def cluster_roles(opts: DeployOptions) -> list[Obj]:
    out = [_cluster_role(opts, WATCHER, "watcher", _rules(WATCHER_CLUSTER_RULES))]
    if opts.node_agent:
        out.append(_cluster_role(opts, AGENT, "node-agent", _rules(AGENT_CLUSTER_RULES)))
    return out


def cluster_role_bindings(opts: DeployOptions) -> list[Obj]:
    out = [_binding(opts, "ClusterRole", WATCHER, "watcher", namespaced=False)]
    if opts.node_agent:
        out.append(_binding(opts, "ClusterRole", AGENT, "node-agent", namespaced=False))
    return out


def leader_election_role(opts: DeployOptions) -> list[Obj]:
    role: Obj = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": meta(WATCHER, "watcher", opts.namespace),
        "rules": [
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
            {
                "apiGroups": ["coordination.k8s.io"],
                "resources": ["leases"],
                "resourceNames": [LEASE_NAME],
                "verbs": ["get", "update"],
            },
        ],
    }
    return [role, _binding(opts, "Role", WATCHER, "watcher", namespaced=True)]
