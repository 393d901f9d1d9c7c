"""What every manifest builder shares: the options, object names, labels and in-pod paths.

Names and paths live here once because the objects refer to each other (the Deployment mounts
the ConfigMap, the RoleBinding names the ServiceAccount, the rendered config points the watcher
at the agent token file): a typo between two builders would apply cleanly and fail at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podsleuth import __version__

Obj = dict[str, Any]

NAME = "podsleuth"
WATCHER = "podsleuth-watcher"
AGENT = "podsleuth-node-agent"
CONFIGMAP = "podsleuth-config"
STORE_SECRET = "podsleuth-store"
CONFIG_SECRET = "podsleuth-config"
"""The config as a Secret (same name as the ConfigMap it replaces) when it holds receiver secrets."""
TOKEN_SECRET = "podsleuth-node-token"
TOKEN_KEY = "token"
UI_TOKEN_SECRET = "podsleuth-ui-token"
"""The console's write token (key ``token``): optional, so the watcher starts read-only and
turns writable when someone creates it (``console.write_token``)."""

DEFAULT_NAMESPACE = "podsleuth"
DEFAULT_IMAGE = f"ghcr.io/podsleuth/podsleuth:{__version__}"
DEFAULT_KUBELET_DIR = "/var/lib/kubelet"

CONFIG_DIR = "/etc/podsleuth"
CONFIG_FILE = f"{CONFIG_DIR}/config.yaml"
TOKEN_DIR = "/var/run/secrets/podsleuth"
TOKEN_FILE = f"{TOKEN_DIR}/{TOKEN_KEY}"
UI_TOKEN_DIR = "/var/run/secrets/podsleuth-ui"
UI_TOKEN_FILE = f"{UI_TOKEN_DIR}/{TOKEN_KEY}"
DATA_DIR = "/var/lib/podsleuth"
DEFAULT_STORE = f"sqlite://{DATA_DIR}/podsleuth.db"  # sqlite:///var/lib/...: absolute
STORE_ENV = "PODSLEUTH_STORE"
HOST_SYS = "/host/sys"

METRICS_PORT = 9090
UI_PORT = 8080
"""The console served by the watcher (``watch --ui-port``), reached through its ClusterIP Service."""
AGENT_PORT = 9808
NONROOT_UID = 65532


@dataclass(frozen=True, slots=True, kw_only=True)
class DeployOptions:
    """Everything that varies between installs; the defaults render ``deploy/podsleuth.yaml``.

    ``config_yaml`` is the effective config (already validated, deploy-specific keys filled in)
    and ``store_url`` the URL taken out of it or from ``--store``: see ``render.options_from``.
    """

    namespace: str = DEFAULT_NAMESPACE
    replicas: int = 1
    node_agent: bool = True
    store_url: str | None = None
    config_yaml: str = ""
    image: str = DEFAULT_IMAGE
    kubelet_dirs: tuple[str, ...] = (DEFAULT_KUBELET_DIR,)
    service_monitor: bool = False
    prometheus_rule: bool = False
    config_has_secrets: bool = False
    """Receiver URLs or headers in the config: the whole file travels in a Secret, not a ConfigMap."""
    namespace_scoped: bool = False
    """For an installer without cluster rights: Roles in ``watch_namespaces`` instead of
    ClusterRoles, no Namespace object (it must exist), no node agent (docs/deploy.md)."""
    agent_shared_token: bool = False
    """Also authenticate node-agent calls with the shared Secret ``TOKEN_SECRET`` (for clients
    outside the cluster); False: the watcher's own ServiceAccount token, checked by the agent
    with a TokenReview, is the only way in, and nothing has to be created by hand."""
    console_writes: bool = True
    """Mount the optional write-token Secret into the watcher (its console takes silences once
    the Secret exists); False: a console read-only by design."""
    watch_namespaces: tuple[str, ...] = ()
    """What the watcher watches (``watch.namespaces`` of the rendered config); () = all."""

    @property
    def store_in_secret(self) -> bool:
        """A non-SQLite URL can carry a password, so it only ever travels in a Secret."""
        return self.store_url is not None and not self.store_url.startswith("sqlite:")


def labels(component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/name": NAME,
        "app.kubernetes.io/version": __version__,
    }


def selector(component: str) -> dict[str, str]:
    """Without the version: a Deployment's selector is immutable, an upgrade must keep it."""
    return {"app.kubernetes.io/component": component, "app.kubernetes.io/name": NAME}


def meta(name: str, component: str, namespace: str | None = None) -> Obj:
    m: Obj = {"name": name}
    if namespace is not None:
        m["namespace"] = namespace
    m["labels"] = labels(component)
    return m


def cluster_name(opts: DeployOptions, name: str) -> str:
    """Cluster-scoped names carry the namespace unless it is the default, so two installs
    (say, one per team) do not overwrite each other's ClusterRoles."""
    return name if opts.namespace == DEFAULT_NAMESPACE else f"{name}-{opts.namespace}"
