"""Read kubeconfig files the way client-go's ``clientcmd`` does, into small typed records.

Why our own: importing kubernetes_asyncio for its loader cost ~39 MiB of RSS and a quarter
of a second (it imports every generated API and model class) for the few dozen lines below.

Semantics followed (client-go ``tools/clientcmd/loader.go``, ``client_config.go``, ``api/types.go``):
- several files (``$KUBECONFIG``) merge: the first file to define a cluster, user or context
  name wins, and the first file to set ``current-context`` wins; missing files in the list are
  skipped, an explicitly named file must exist;
- relative file paths (certificate-authority, client-certificate, client-key, tokenFile, and an
  exec ``command`` containing a path separator) are relative to the file that holds them;
- ``*-data`` fields are base64 in YAML. ``proxy-url`` and legacy ``auth-provider`` are refused
  with one line (we do not implement them).
Every problem is one ``KubeconfigError`` line naming the file and field, never a value.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from podsleuth.errors import KubeconfigError

EXEC_API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")
INTERACTIVE_MODES = ("Never", "IfAvailable", "Always")


@dataclass(frozen=True)
class ExecConfig:
    """``users[].user.exec``: a credential plugin (``aws eks get-token``, ``kubelogin``...)."""

    command: str
    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    api_version: str
    interactive_mode: str
    provide_cluster_info: bool
    install_hint: str
    where: str
    """``kubeconfig <file>: users 'name'``: the prefix of every error about this plugin."""


@dataclass(frozen=True)
class Cluster:
    server: str
    certificate_authority: Path | None
    certificate_authority_data: bytes | None
    insecure_skip_tls_verify: bool
    tls_server_name: str | None
    exec_extension: Any
    """``extensions[client.authentication.k8s.io/exec]``: passed to a plugin as ``spec.cluster.config``."""


@dataclass(frozen=True)
class User:
    token: str | None = None
    token_file: Path | None = None
    client_certificate: Path | None = None
    client_certificate_data: bytes | None = None
    client_key: Path | None = None
    client_key_data: bytes | None = None
    username: str | None = None
    password: str | None = None
    exec: ExecConfig | None = None


@dataclass(frozen=True)
class Selection:
    """The context chosen, with its cluster and user resolved."""

    source: str
    context: str
    cluster: Cluster
    user: User
    cluster_where: str
    user_where: str


class _Entry:
    """One named map entry and the file it came from (relative paths resolve against it)."""

    __slots__ = ("body", "file")

    def __init__(self, body: dict[str, Any], file: Path) -> None:
        self.body, self.file = body, file


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KubeconfigError(f"kubeconfig {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise KubeconfigError(f"kubeconfig {path} cannot be read: {e.__class__.__name__}") from None
    except yaml.YAMLError:
        raise KubeconfigError(f"kubeconfig {path} is not valid YAML") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise KubeconfigError(f"kubeconfig {path} is not a kubeconfig (expected a mapping)")
    return data


def _named(data: dict[str, Any], key: str, inner: str, path: Path, into: dict[str, _Entry]) -> None:
    items = data.get(key)
    if items is None:
        return
    if not isinstance(items, list):
        raise KubeconfigError(f"kubeconfig {path}: {key} must be a list")
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise KubeconfigError(f"kubeconfig {path}: every entry of {key} needs a string name")
        body = item.get(inner) or {}
        if not isinstance(body, dict):
            raise KubeconfigError(f"kubeconfig {path}: {key} '{item['name']}': {inner} must be a mapping")
        into.setdefault(item["name"], _Entry(body, path))


def _str(body: dict[str, Any], key: str, where: str) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise KubeconfigError(f"{where}: {key} must be a string")
    return value


def _path(body: dict[str, Any], key: str, where: str, base: Path) -> Path | None:
    value = _str(body, key, where)
    return None if value is None else (base.parent / Path(value).expanduser())


def _data(body: dict[str, Any], key: str, where: str) -> bytes | None:
    value = _str(body, key, where)
    if value is None:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise KubeconfigError(f"{where}: {key} is not valid base64") from None


def _cluster(entry: _Entry, where: str) -> Cluster:
    body = entry.body
    if _str(body, "proxy-url", where):
        raise KubeconfigError(f"{where}: proxy-url is not supported by podsleuth")
    server = _str(body, "server", where)
    if server is None:
        raise KubeconfigError(f"{where}: no server defined")
    insecure = body.get("insecure-skip-tls-verify", False)
    if not isinstance(insecure, bool):
        raise KubeconfigError(f"{where}: insecure-skip-tls-verify must be true or false")
    extension = None
    for ext in body.get("extensions") or []:
        if isinstance(ext, dict) and ext.get("name") == "client.authentication.k8s.io/exec":
            extension = ext.get("extension")
    return Cluster(
        server=server,
        certificate_authority=_path(body, "certificate-authority", where, entry.file),
        certificate_authority_data=_data(body, "certificate-authority-data", where),
        insecure_skip_tls_verify=insecure,
        tls_server_name=_str(body, "tls-server-name", where),
        exec_extension=extension,
    )


def _exec(body: Any, where: str, base: Path) -> ExecConfig:
    where = f"{where}: exec"
    if not isinstance(body, dict):
        raise KubeconfigError(f"{where} must be a mapping")
    command = _str(body, "command", where)
    if command is None:
        raise KubeconfigError(f"{where}: command is required")
    if os.sep in command:  # client-go: only a command with a separator is file-relative
        command = str(base.parent / Path(command).expanduser())
    args = body.get("args") or []
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise KubeconfigError(f"{where}: args must be a list of strings")
    env: list[tuple[str, str]] = []
    for item in body.get("env") or []:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise KubeconfigError(f"{where}: every env entry needs a string name")
        value = item.get("value", "")
        env.append((item["name"], value if isinstance(value, str) else str(value)))
    version = _str(body, "apiVersion", where)
    if version not in EXEC_API_VERSIONS:
        raise KubeconfigError(f"{where}: apiVersion must be one of {', '.join(EXEC_API_VERSIONS)}")
    mode = _str(body, "interactiveMode", where)
    if mode is None:
        if version.endswith("/v1"):  # client-go: required from v1 on, IfAvailable before
            raise KubeconfigError(f"{where}: interactiveMode must be specified for {version}")
        mode = "IfAvailable"
    if mode not in INTERACTIVE_MODES:
        raise KubeconfigError(f"{where}: interactiveMode must be one of {', '.join(INTERACTIVE_MODES)}")
    if mode == "Always":
        raise KubeconfigError(f"{where}: interactiveMode Always needs a terminal; podsleuth never has one")
    return ExecConfig(
        command=command, args=tuple(args), env=tuple(env), api_version=version, interactive_mode=mode,
        provide_cluster_info=body.get("provideClusterInfo") is True,
        install_hint=next(iter((_str(body, "installHint", where) or "").splitlines()), ""),
        where=where,
    )  # fmt: skip


def _user(entry: _Entry, where: str) -> User:
    body = entry.body
    if body.get("auth-provider"):
        raise KubeconfigError(
            f"{where}: auth-provider is not supported (client-go removed the gcp and azure ones); "
            "use an exec credential plugin instead (oidc: kubelogin)"
        )
    return User(
        token=_str(body, "token", where),
        token_file=_path(body, "tokenFile", where, entry.file),
        client_certificate=_path(body, "client-certificate", where, entry.file),
        client_certificate_data=_data(body, "client-certificate-data", where),
        client_key=_path(body, "client-key", where, entry.file),
        client_key_data=_data(body, "client-key-data", where),
        username=_str(body, "username", where),
        password=_str(body, "password", where),
        exec=_exec(body["exec"], where, entry.file) if body.get("exec") else None,
    )


def load(paths: list[Path], *, context: str | None, explicit: bool) -> Selection:
    """Merge ``paths`` (first wins) and resolve ``context`` (or current-context)."""
    clusters: dict[str, _Entry] = {}
    users: dict[str, _Entry] = {}
    contexts: dict[str, _Entry] = {}
    current: str | None = None
    read = 0
    for path in paths:
        if not explicit and len(paths) > 1 and not path.exists():
            continue  # client-go skips missing files of $KUBECONFIG
        data = _read(path)
        read += 1
        _named(data, "clusters", "cluster", path, clusters)
        _named(data, "users", "user", path, users)
        _named(data, "contexts", "context", path, contexts)
        if current is None and isinstance(data.get("current-context"), str) and data["current-context"]:
            current = data["current-context"]
    source = os.pathsep.join(str(p) for p in paths)
    if read == 0:
        raise KubeconfigError(f"kubeconfig {source} does not exist")
    available = ", ".join(contexts) or "none"
    wanted = context or current
    if not wanted:
        raise KubeconfigError(
            f"kubeconfig {source} has no current-context; pass --context (available: {available})"
        )
    if wanted not in contexts:
        raise KubeconfigError(f"context '{wanted}' not found in {source} (available: {available})")
    ctx = contexts[wanted]
    cluster_name, user_name = ctx.body.get("cluster"), ctx.body.get("user")
    if not isinstance(cluster_name, str) or cluster_name not in clusters:
        raise KubeconfigError(
            f"kubeconfig {ctx.file}: context '{wanted}' refers to a cluster that is not defined"
        )
    cluster_entry = clusters[cluster_name]
    cluster_where = f"kubeconfig {cluster_entry.file}: clusters '{cluster_name}'"
    user = User()
    if user_name not in (None, ""):
        if not isinstance(user_name, str) or user_name not in users:
            raise KubeconfigError(
                f"kubeconfig {ctx.file}: context '{wanted}' refers to a user that is not defined"
            )
        user_where = f"kubeconfig {users[user_name].file}: users '{user_name}'"
        user = _user(users[user_name], user_where)
    else:
        user_where = f"kubeconfig {ctx.file}: context '{wanted}'"
    return Selection(source, wanted, _cluster(cluster_entry, cluster_where), user, cluster_where, user_where)
