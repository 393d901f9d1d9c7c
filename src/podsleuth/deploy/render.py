"""Build the install manifests as Python objects and dump them as one multi-document YAML.

Objects, not text templates: a value can never break the YAML (quotes, newlines in a PromQL
expression, a namespace that looks like a number), and the tests inspect the very objects that
get applied. The output is deterministic (no timestamps, no random tokens, fixed order) so
``deploy/podsleuth.yaml`` can be checked against a fresh render by a test.

Regenerate the committed file with ``python -m podsleuth.deploy.render > deploy/podsleuth.yaml``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from podsleuth import __version__
from podsleuth.config import parse_settings
from podsleuth.deploy import monitoring, rbac, workloads
from podsleuth.deploy.common import (
    CONFIG_SECRET,
    CONFIGMAP,
    DEFAULT_IMAGE,
    DEFAULT_KUBELET_DIR,
    DEFAULT_NAMESPACE,
    NAME,
    STORE_SECRET,
    TOKEN_FILE,
    TOKEN_KEY,
    TOKEN_SECRET,
    UI_TOKEN_SECRET,
    DeployOptions,
    Obj,
    labels,
    meta,
)
from podsleuth.errors import ConfigError, InputError
from podsleuth.store import sqlite_path

REGENERATE = "python -m podsleuth.deploy.render > deploy/podsleuth.yaml"
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def effective_config(
    text: str | None,
    *,
    source: str,
    namespace: str,
    node_agent: bool,
    watch_namespaces: tuple[str, ...] = (),
    agent_shared_token: bool = False,
) -> tuple[str, str | None]:
    """The config the watcher gets in its ConfigMap, and the store URL taken out of it.

    The user's file is validated first (a typo fails here, not in a crash-looping pod). The
    store URL is removed because it may hold a password and a ConfigMap is readable by anyone
    with ``get configmaps``; it goes to a Secret instead. The node-agent keys the install
    decides (namespace; the token file with ``agent_shared_token``) are filled in where the file
    leaves them unset. Without a token file the watcher sends its ServiceAccount token.
    """
    parse_settings(text or "", source=source)
    data: dict[str, Any] = (yaml.safe_load(text) if text else None) or {}
    store = data.pop("store", None)
    agents: dict[str, Any] = dict(data.get("node_agents") or {})
    if node_agent:
        agents.setdefault("namespace", namespace)
        if agent_shared_token and not agents.get("token_file"):
            agents["token_file"] = TOKEN_FILE
    else:
        agents.setdefault("discovery", "off")
    data["node_agents"] = agents
    if watch_namespaces:
        watch: dict[str, Any] = dict(data.get("watch") or {})
        watch["namespaces"] = list(dict.fromkeys([*(watch.get("namespaces") or []), *watch_namespaces]))
        data["watch"] = watch
    out = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=4096)
    parse_settings(out, source=f"{source} (as rendered)")
    return out, store


SECRET_SINKS = ("webhook", "apprise", "alertmanager")
"""Receiver kinds whose URLs (Slack/DingTalk paths, ``?token=``, ``user:pass@``) or headers are
credentials: a config naming one is rendered into a Secret."""


def has_secrets(config_yaml: str) -> bool:
    data = yaml.safe_load(config_yaml) or {}
    receivers = (data.get("alerts") or {}).get("receivers") or []
    return any(isinstance(r, dict) and any(r.get(k) for k in SECRET_SINKS) for r in receivers)


def _receivers(config_yaml: str) -> list[Any]:
    data = yaml.safe_load(config_yaml) or {}
    return list((data.get("alerts") or {}).get("receivers") or [])


def warnings(opts: DeployOptions) -> list[str]:
    """What the user must still supply before the install works; said on stderr, never silent."""
    out = []
    if opts.image == DEFAULT_IMAGE:
        out.append(f"image {DEFAULT_IMAGE} is a placeholder that is not published: build it with the "
                   "Dockerfile (docs/deploy.md), push it, and pass --image REGISTRY/podsleuth:TAG")
    if not _receivers(opts.config_yaml):
        out.append("no alert receiver configured: incidents only reach the watcher's log "
                   "(kubectl logs); add alerts.receivers to a --config file (docs/alerting.md)")
    if opts.store_url is None or opts.store_url.startswith("sqlite:"):
        out.append("the store is SQLite on an emptyDir: incidents, silences and pending alerts are lost "
                   "when the pod moves, and only one replica can run; pass --store postgresql://...")
    if opts.namespace_scoped:
        out.append(f"namespace-scoped: the namespace {opts.namespace} must exist; the watcher reads only "
                   f"{', '.join(opts.watch_namespaces)}: no node detection, no node agent, and diagnoses "
                   "lack node/PV/CSI facts (docs/watching.md, \"Namespace-scoped mode\")")
    if opts.console_writes:
        out.append(f"the console is read-only until the Secret {UI_TOKEN_SECRET} exists (the watcher picks "
                   "it up "
                   f"without a restart): kubectl -n {opts.namespace} create secret generic {UI_TOKEN_SECRET} "
                   f"--from-literal={TOKEN_KEY}=\"$(openssl rand -hex 24)\"; then `podsleuth silence add "
                   "--context NAME` reaches it (docs/alerting.md#silences-from-a-laptop)")
    if opts.node_agent and opts.agent_shared_token:
        out.append(f"the node agent needs the Secret {TOKEN_SECRET} before its pods start: kubectl -n "
                   f"{opts.namespace} create secret generic {TOKEN_SECRET} "
                   f"--from-literal={TOKEN_KEY}=\"$(openssl rand -hex 32)\"")
    return out


def _stderr(text: str) -> None:
    sys.stderr.write(f"podsleuth: warning: {text}\n")


def _check_store(url: str | None, replicas: int) -> None:
    if url is not None and url.startswith("sqlite:"):
        if not sqlite_path(url).startswith("/"):
            raise InputError(f"store URL {url!r}: in a pod use a file at an absolute path, "
                             "like sqlite:///var/lib/podsleuth/podsleuth.db")
    elif url is not None and not url.startswith(("postgresql://", "postgres://")):
        raise InputError(f"store URL {url!r}: use sqlite:////absolute/path.db or postgresql://...")
    if replicas > 1 and (url is None or url.startswith("sqlite:")):
        raise InputError(f"--replicas {replicas} needs a shared store: give --store postgresql://... "
                         "(SQLite is one file in one pod)")


def options_from(
    *,
    namespace: str = DEFAULT_NAMESPACE,
    replicas: int = 1,
    node_agent: bool | None = None,
    store_url: str | None = None,
    config_path: str | Path | None = None,
    image: str = DEFAULT_IMAGE,
    kubelet_dirs: tuple[str, ...] = (DEFAULT_KUBELET_DIR,),
    service_monitor: bool = False,
    prometheus_rule: bool = False,
    namespace_scoped: bool = False,
    watch_namespaces: tuple[str, ...] = (),
    console_writes: bool = True,
    agent_shared_token: bool = False,
    warn: Callable[[str], None] | None = _stderr,
) -> DeployOptions:
    """Validate the CLI's inputs into ``DeployOptions``; every problem is a one-line UsageError.
    ``node_agent`` None: deployed unless ``namespace_scoped`` (a privileged DaemonSet and a
    ClusterRole are cluster rights)."""
    for ns, flag in [(namespace, "--namespace"), *((w, "--watch-namespace") for w in watch_namespaces)]:
        if len(ns) > 63 or not _DNS_LABEL.fullmatch(ns):
            raise InputError(f"{flag} {ns!r} is not a valid namespace name (RFC 1123 label)")
    if namespace_scoped and node_agent:
        raise InputError("--node-agent needs cluster rights (a privileged DaemonSet, a ClusterRole for "
                         "TokenReviews): not with --namespace-scoped; a cluster admin installs it")
    node_agent = not namespace_scoped if node_agent is None else node_agent
    if namespace_scoped and not watch_namespaces:
        watch_namespaces = (namespace,)
    if replicas < 1:
        raise InputError(f"--replicas must be at least 1, got {replicas}")
    if not image or any(c.isspace() for c in image):
        raise InputError(f"--image {image!r} is not an image reference")
    dirs = tuple(kubelet_dirs) or (DEFAULT_KUBELET_DIR,)
    for d in dirs:
        if not d.startswith("/") or d != "/" + d.strip("/") or "/../" in d + "/" or "/./" in d + "/":
            raise InputError(f"--kubelet-dir {d!r} must be an absolute, normalised path without a trailing /")
    if len(set(dirs)) != len(dirs):
        raise InputError("--kubelet-dir given twice with the same path")
    text = None
    source = "<defaults>"
    if config_path is not None:
        source = str(config_path)
        try:
            text = Path(config_path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"config file {config_path} does not exist") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"config file {config_path} cannot be read: {e}") from None
    config_yaml, config_store = effective_config(text, source=source, namespace=namespace,
                                                 node_agent=node_agent, watch_namespaces=watch_namespaces,
                                                 agent_shared_token=agent_shared_token)
    watched = tuple(parse_settings(config_yaml, source=source).watch.namespaces)
    if namespace_scoped and any(not _DNS_LABEL.fullmatch(ns) for ns in watched):
        raise InputError(f"watch.namespaces {list(watched)}: a Role needs exact namespace names")
    store = store_url or config_store
    _check_store(store, replicas)
    opts = DeployOptions(
        namespace=namespace, replicas=replicas, node_agent=node_agent, store_url=store,
        config_yaml=config_yaml, image=image, kubelet_dirs=dirs,
        service_monitor=service_monitor, prometheus_rule=prometheus_rule,
        config_has_secrets=has_secrets(config_yaml), namespace_scoped=namespace_scoped,
        watch_namespaces=watched, console_writes=console_writes, agent_shared_token=agent_shared_token,
    )
    if warn is not None:
        for text in warnings(opts):
            warn(text)
    return opts


def _namespace(opts: DeployOptions) -> Obj:
    ns_labels = {k: v for k, v in labels("").items() if k != "app.kubernetes.io/component"}
    # Pod Security Admission: the agent is privileged by necessity; without it the whole
    # namespace can be held to the restricted profile.
    level = "privileged" if opts.node_agent else "restricted"
    ns_labels["pod-security.kubernetes.io/enforce"] = level
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": opts.namespace, "labels": ns_labels}}


def _configmap(opts: DeployOptions) -> Obj:
    if opts.config_has_secrets:
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": meta(CONFIG_SECRET, "watcher", opts.namespace),
            "type": "Opaque",
            "stringData": {"config.yaml": opts.config_yaml},
        }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta(CONFIGMAP, "watcher", opts.namespace),
        "data": {"config.yaml": opts.config_yaml},
    }


def _store_secret(opts: DeployOptions) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta(STORE_SECRET, "watcher", opts.namespace),
        "type": "Opaque",
        "stringData": {"url": opts.store_url},
    }


def build(opts: DeployOptions) -> list[Obj]:
    """All objects in apply order: the namespace and RBAC before what runs under them."""
    objs: list[Obj] = [] if opts.namespace_scoped else [_namespace(opts)]
    objs += rbac.service_accounts(opts)
    if opts.namespace_scoped:
        objs += rbac.watch_roles(opts)
    else:
        objs += rbac.cluster_roles(opts)
        objs += rbac.cluster_role_bindings(opts)
    objs += rbac.leader_election_role(opts)
    objs.append(_configmap(opts))
    if opts.store_in_secret:
        objs.append(_store_secret(opts))
    objs += workloads.services(opts)
    objs.append(workloads.watcher_deployment(opts))
    if opts.node_agent:
        objs.append(workloads.agent_daemonset(opts))
    if opts.service_monitor:
        objs += monitoring.service_monitors(opts)
    if opts.prometheus_rule:
        objs.append(monitoring.prometheus_rule(opts))
    return objs


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the embedded config) as readable ``|`` blocks, and no ``&id001``
    anchors where two objects share a dict: kubectl users read and diff this file."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render(opts: DeployOptions) -> str:
    header = (
        f"# {NAME} {__version__} install manifests, made by `podsleuth manifests` (docs/deploy.md).\n"
        f"# deploy/podsleuth.yaml is this output with defaults: regenerate it with `{REGENERATE}`.\n"
    )
    body = yaml.dump_all(build(opts), Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                         width=4096, explicit_start=True)
    return header + body


def main() -> None:
    sys.stdout.write(render(options_from(warn=None)))


if __name__ == "__main__":
    main()
