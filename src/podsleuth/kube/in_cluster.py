"""The in-cluster service-account configuration (client-go ``rest.InClusterConfig``) and
token files that rotate.

Bound service-account tokens are rotated by the kubelet (hourly by default, through an atomic
symlink swap), and a ``tokenFile`` in a kubeconfig may be rewritten by whatever issues it;
client-go re-reads such files every minute. We re-read when the file changes (its inode, size
or mtime differ: one ``stat`` per request, about a microsecond) so that a rotated token is
used at once, and keep the last good token if a re-read fails mid-rotation.

The host paths are a parameter (prometheus/client_python style) so tests run against a
temporary directory instead of ``/var/run/secrets``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from podsleuth.errors import KubeconfigError

log = logging.getLogger(__name__)

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
SERVICE_HOST_ENV = "KUBERNETES_SERVICE_HOST"
SERVICE_PORT_ENV = "KUBERNETES_SERVICE_PORT"
MAX_TOKEN = 64 * 1024


class TokenFile:
    """A bearer token read from a file, re-read whenever the file changes."""

    def __init__(self, path: Path, *, what: str) -> None:
        self.path, self.what = path, what
        self._key: tuple[int, int, int] | None = None
        self._token = ""
        self._warned = False
        self.reads = 0
        self.token()  # the first read must succeed: fail at start, not on the first request
        if not self._token:
            raise KubeconfigError(f"{what}: token file {path} is empty")

    def _read(self) -> str:
        with open(self.path, "rb") as f:
            data = f.read(MAX_TOKEN + 1)
        if len(data) > MAX_TOKEN:
            raise ValueError("too large")
        return data.decode("utf-8").strip()

    def token(self) -> str:
        """The current token; never log it."""
        try:
            st = os.stat(self.path)
            key = (st.st_ino, st.st_size, st.st_mtime_ns)
            if key == self._key:
                return self._token
            token = self._read()
        except (OSError, ValueError) as e:
            if self._key is None:
                raise KubeconfigError(
                    f"{self.what}: token file {self.path} cannot be read: {e.__class__.__name__}"
                ) from None
            if not self._warned:
                log.warning(
                    "%s: token file %s cannot be re-read (%s); keeping the previous token",
                    self.what,
                    self.path,
                    e.__class__.__name__,
                )
                self._warned = True
            return self._token
        self.reads += 1
        self._warned = False
        if token:  # an empty read is a rotation in progress: keep the previous token
            self._key, self._token = key, token
        elif self._key is None:
            self._key = key
        return self._token


@dataclass(frozen=True)
class InCluster:
    server: str
    ca_file: Path | None
    token: TokenFile


def in_cluster_server(environ: dict[str, str] | os._Environ[str]) -> str | None:
    """``https://host:port`` from the service environment variables (IPv6 in brackets), or
    None when not running in a pod."""
    host, port = environ.get(SERVICE_HOST_ENV, ""), environ.get(SERVICE_PORT_ENV, "")
    if not host or not port:
        return None
    return f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"


def load_in_cluster(
    *, service_account_dir: Path = SERVICE_ACCOUNT_DIR, environ: dict[str, str] | None = None
) -> InCluster:
    """What client-go's ``InClusterConfig`` returns: the server, the service account's CA
    (when it is readable; otherwise, like client-go, an error in the log and the system
    roots) and its token."""
    server = in_cluster_server(os.environ if environ is None else environ)
    if server is None:
        raise KubeconfigError(
            "unable to load in-cluster configuration: KUBERNETES_SERVICE_HOST and "
            "KUBERNETES_SERVICE_PORT must be defined"
        )
    token = TokenFile(service_account_dir / "token", what="in-cluster config")
    ca_file = service_account_dir / "ca.crt"
    ca: Path | None = ca_file
    try:
        if b"-----BEGIN CERTIFICATE-----" not in ca_file.read_bytes():
            raise ValueError("no PEM certificate")
    except (OSError, ValueError) as e:
        log.error(
            "in-cluster config: expected a root CA in %s: %s; using the system roots",
            ca_file,
            e.__class__.__name__,
        )
        ca = None
    return InCluster(server, ca, token)
