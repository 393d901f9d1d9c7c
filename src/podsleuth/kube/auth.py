"""Credentials for the API server: where it is, the TLS context, and a fresh ``Authorization``.

Our own loader (``kubeconfig``, ``exec_credential``, ``in_cluster``) instead of
kubernetes_asyncio's: that library's import alone cost ~39 MiB of RSS and 0.25 s, for a watcher
that does its own HTTP (``podsleuth.kube.client``). The rules are client-go's: one
authentication method per user (token or tokenFile, basic auth, client certificate; an exec
plugin only when none of those is set, as client-go lets explicit credentials win), CA given
means only that CA is trusted, a CA together with insecure-skip-tls-verify is refused.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from podsleuth.errors import ApiUnauthorized, KubeconfigError
from podsleuth.kube import kubeconfig
from podsleuth.kube.exec_credential import ExecPlugin
from podsleuth.kube.in_cluster import SERVICE_ACCOUNT_DIR, SERVICE_HOST_ENV, TokenFile, load_in_cluster

DEFAULT_KUBECONFIG = Path("~/.kube/config")
EXEC_PLUGIN_TIMEOUT = 30.0


async def _no_invalidate() -> None:
    return None


@dataclass(eq=False)
class Credentials:
    """Where the server is and how to authenticate; ``authorization()`` refreshes tokens."""

    server: str
    ssl: ssl.SSLContext | None
    server_hostname: str | None
    source: str = ""
    context: str = ""
    """The kubeconfig context used, or ``in-cluster``: the default cluster name of incidents."""
    header: Callable[[], Awaitable[str | None]] | None = None
    drop: Callable[[], Awaitable[None]] = _no_invalidate
    exec_plugin: ExecPlugin | None = None

    async def authorization(self) -> str | None:
        """The current ``Authorization`` header value; never log it."""
        return None if self.header is None else await self.header()

    async def invalidate(self) -> None:
        """After a 401: make the next request run the exec plugin again, if there is one
        (a token file is re-read anyway whenever it changes)."""
        await self.drop()


def load_client_cert(context: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    """Certificate and key held in memory go to the SSLContext through a private file (the
    ssl module reads only files): 0600 in a 0700 directory, deleted right after loading."""
    with tempfile.TemporaryDirectory(prefix="podsleuth-tls-") as directory:
        path = os.path.join(directory, "client.pem")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(key.rstrip(b"\n") + b"\n" + cert)
            context.load_cert_chain(path)
        finally:
            os.unlink(path)


def _ssl_context(cluster: kubeconfig.Cluster, where: str) -> ssl.SSLContext:
    ca_file, ca_data = cluster.certificate_authority, cluster.certificate_authority_data
    if cluster.insecure_skip_tls_verify and (ca_file or ca_data):
        raise KubeconfigError(
            f"{where}: specifying a root certificate with insecure-skip-tls-verify is not allowed"
        )
    field = "certificate-authority-data" if ca_data else "certificate-authority"
    try:
        if ca_data and b"-----BEGIN" in ca_data:
            context = ssl.create_default_context(cadata=ca_data.decode("ascii", "replace"))
        elif ca_data:
            context = ssl.create_default_context(cadata=ca_data)  # DER
        else:
            context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except FileNotFoundError:
        raise KubeconfigError(f"{where}: certificate-authority file {ca_file} does not exist") from None
    except (OSError, ssl.SSLError, ValueError) as e:
        what = e.__class__.__name__
        raise KubeconfigError(f"{where}: {field} is not a usable CA certificate ({what})") from None
    if cluster.insecure_skip_tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _client_cert(context: ssl.SSLContext | None, user: kubeconfig.User, where: str) -> bool:
    """Load the user's client certificate, if any; True when there is one."""
    if user.client_certificate and user.client_certificate_data:
        raise KubeconfigError(f"{where}: client-certificate and client-certificate-data are both set")
    if user.client_key and user.client_key_data:
        raise KubeconfigError(f"{where}: client-key and client-key-data are both set")
    has_cert = bool(user.client_certificate or user.client_certificate_data)
    has_key = bool(user.client_key or user.client_key_data)
    if has_cert != has_key:
        raise KubeconfigError(f"{where}: a client certificate needs both a certificate and a key")
    if not has_cert or context is None:
        return has_cert
    try:
        cert = user.client_certificate_data or user.client_certificate.read_bytes()  # type: ignore[union-attr]
        key = user.client_key_data or user.client_key.read_bytes()  # type: ignore[union-attr]
        load_client_cert(context, cert, key)
    except FileNotFoundError as e:
        missing = e.filename
        raise KubeconfigError(f"{where}: client certificate or key file {missing} does not exist") from None
    except (OSError, ssl.SSLError, ValueError) as e:
        what = e.__class__.__name__
        raise KubeconfigError(f"{where}: client certificate or key is not usable ({what})") from None
    return True


def _basic(username: str, password: str) -> Callable[[], Awaitable[str | None]]:
    value = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()

    async def header() -> str | None:
        return value

    return header


def _bearer(token: str | TokenFile) -> Callable[[], Awaitable[str | None]]:
    async def header() -> str | None:
        return "Bearer " + (token if isinstance(token, str) else token.token())

    return header


def _exec_auth(plugin: ExecPlugin, context: ssl.SSLContext | None) -> Callable[[], Awaitable[str | None]]:
    async def header() -> str | None:
        result, new = await plugin.get()
        if new and context is not None and result.client_certificate and result.client_key:
            try:
                load_client_cert(context, result.client_certificate, result.client_key)
            except (OSError, ssl.SSLError, ValueError) as e:
                raise ApiUnauthorized(
                    f"{plugin.config.where}: the plugin's client certificate is not usable "
                    f"({e.__class__.__name__})"
                ) from None
        return f"Bearer {result.token}" if result.token else None

    return header


async def _from_kubeconfig(paths: list[Path], context: str | None, explicit: bool) -> Credentials:
    sel = kubeconfig.load(paths, context=context, explicit=explicit)
    cluster, user = sel.cluster, sel.user
    user_where = sel.user_where
    server = cluster.server.rstrip("/")
    if "://" not in server:  # client-go's DefaultServerURL: https when TLS is configured
        tls = bool(
            cluster.certificate_authority or cluster.certificate_authority_data
            or cluster.insecure_skip_tls_verify or user.client_certificate or user.client_certificate_data
        )  # fmt: skip
        server = ("https://" if tls else "http://") + server
    context_ssl = _ssl_context(cluster, sel.cluster_where) if server.startswith("https://") else None
    creds = Credentials(server, context_ssl, cluster.tls_server_name, sel.source, sel.context)
    methods = [m for m, on in (("token", user.token or user.token_file),
                               ("basicAuth", user.username or user.password)) if on]  # fmt: skip
    if len(methods) > 1:
        raise KubeconfigError(f"{user_where}: more than one authentication method ({', '.join(methods)})")
    has_cert = _client_cert(context_ssl, user, user_where)
    if user.token:
        creds.header = _bearer(user.token)
    elif user.token_file:
        creds.header = _bearer(TokenFile(user.token_file, what=user_where))
    elif user.username or user.password:
        creds.header = _basic(user.username or "", user.password or "")
    elif user.exec is not None and not has_cert:
        plugin = ExecPlugin(user.exec, cluster, timeout=EXEC_PLUGIN_TIMEOUT)
        creds.exec_plugin, creds.header = plugin, _exec_auth(plugin, context_ssl)

        async def drop() -> None:
            plugin.invalidate()

        creds.drop = drop
        try:  # run it now: a broken plugin should stop the start, not the first request
            await creds.authorization()
        except ApiUnauthorized as e:
            raise KubeconfigError(str(e)) from None
    return creds


def _in_cluster(service_account_dir: Path) -> Credentials:
    info = load_in_cluster(service_account_dir=service_account_dir)
    try:
        context = ssl.create_default_context(cafile=str(info.ca_file) if info.ca_file else None)
    except (OSError, ssl.SSLError) as e:
        what = e.__class__.__name__
        raise KubeconfigError(f"in-cluster config: {info.ca_file} is not a usable CA ({what})") from None
    return Credentials(info.server, context, None, "in-cluster", "in-cluster", header=_bearer(info.token))


def _resolve(kubeconfig_arg: str | None) -> tuple[list[Path], bool] | None:
    """The kubeconfig files to merge and whether the path was explicit, or None for in-cluster."""
    if kubeconfig_arg:
        return [Path(kubeconfig_arg).expanduser()], True
    listed = [Path(p).expanduser() for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    if listed:
        return listed, len(listed) == 1
    path = DEFAULT_KUBECONFIG.expanduser()
    if path.exists():
        return [path], True
    if not os.environ.get(SERVICE_HOST_ENV):
        raise KubeconfigError(
            f"no kubeconfig at {path} and not running in a cluster "
            "(KUBERNETES_SERVICE_HOST is unset); pass --kubeconfig"
        )
    return None


async def load_credentials(
    *, kubeconfig: str | None, context: str | None, service_account_dir: Path = SERVICE_ACCOUNT_DIR
) -> Credentials:
    """Explicit path, else $KUBECONFIG (merged), else ~/.kube/config, else the in-cluster
    service account (files under ``service_account_dir``)."""
    resolved = _resolve(kubeconfig)
    if resolved is None:
        return _in_cluster(service_account_dir)
    return await _from_kubeconfig(resolved[0], context, resolved[1])
