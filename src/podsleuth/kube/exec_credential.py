"""Run a kubeconfig exec credential plugin the way client-go does (``plugin/pkg/client/auth/exec``).

Cloud clusters (EKS, GKE, AKS, OIDC through kubelogin) hand out short-lived credentials only
through such plugins, so without them podsleuth could not watch most managed clusters.

What client-go does and we do too: the plugin is run directly (no shell) with the user's
environment plus the configured ``env``, and ``KUBERNETES_EXEC_INFO`` holding an
``ExecCredential`` request (``spec.interactive`` false - we never have a terminal - and the
cluster when ``provideClusterInfo`` is set); its stdout must be an ``ExecCredential`` of the
same apiVersion whose ``status`` holds a token or a client certificate and key; the result is
cached until ``expirationTimestamp`` (forever if absent) and dropped after a 401. What we add:
a timeout (a hung plugin must not stall every request silently) and the plugin's stderr goes
to our log, a few lines at most and never a line holding the token.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from podsleuth.errors import ApiUnauthorized
from podsleuth.kube.kubeconfig import Cluster, ExecConfig

log = logging.getLogger(__name__)

MAX_STDERR_LINES = 5
MAX_OUTPUT = 1 << 20
"""A credential is a few KiB; more is a broken plugin, refused rather than held."""


@dataclass(frozen=True)
class ExecResult:
    token: str | None
    client_certificate: bytes | None
    client_key: bytes | None
    expiry: float | None
    """Unix time after which the plugin is run again; None: until a 401."""


def exec_info(config: ExecConfig, cluster: Cluster | None) -> str:
    """The ``KUBERNETES_EXEC_INFO`` value (client-go's ``ExecCredential`` request)."""
    spec: dict[str, Any] = {"interactive": False}
    if config.provide_cluster_info and cluster is not None:
        info: dict[str, Any] = {"server": cluster.server}
        if cluster.tls_server_name:
            info["tls-server-name"] = cluster.tls_server_name
        if cluster.insecure_skip_tls_verify:
            info["insecure-skip-tls-verify"] = True
        if cluster.certificate_authority_data:
            info["certificate-authority-data"] = base64.b64encode(cluster.certificate_authority_data).decode()
        if cluster.exec_extension is not None:
            info["config"] = cluster.exec_extension
        spec["cluster"] = info
    return json.dumps({"kind": "ExecCredential", "apiVersion": config.api_version, "spec": spec})


def parse(stdout: bytes, config: ExecConfig) -> ExecResult:
    """An ``ExecCredential`` from the plugin's stdout; ApiUnauthorized with one line otherwise."""
    where = f"{config.where} plugin {os.path.basename(config.command)}"
    try:
        data = json.loads(stdout)
    except (ValueError, UnicodeDecodeError):
        raise ApiUnauthorized(f"{where} did not print an ExecCredential (not JSON)") from None
    if not isinstance(data, dict) or data.get("kind") != "ExecCredential":
        raise ApiUnauthorized(f"{where} did not print an ExecCredential (kind)")
    if data.get("apiVersion") != config.api_version:
        raise ApiUnauthorized(
            f"{where} is configured for {config.api_version} but printed another apiVersion"
        )
    status = data.get("status")
    if not isinstance(status, dict):
        raise ApiUnauthorized(f"{where} printed an ExecCredential without status")
    token, cert, key = status.get("token"), status.get("clientCertificateData"), status.get("clientKeyData")
    for name, value in (("token", token), ("clientCertificateData", cert), ("clientKeyData", key)):
        if value is not None and not isinstance(value, str):
            raise ApiUnauthorized(f"{where}: status.{name} must be a string")
    if bool(cert) != bool(key):
        raise ApiUnauthorized(f"{where}: status needs both clientCertificateData and clientKeyData")
    if not token and not cert:
        raise ApiUnauthorized(f"{where}: status has neither a token nor a client certificate")
    expiry = None
    stamp = status.get("expirationTimestamp")
    if stamp not in (None, ""):
        try:
            expiry = datetime.fromisoformat(str(stamp)).timestamp()
        except ValueError:
            raise ApiUnauthorized(f"{where}: status.expirationTimestamp is not an RFC 3339 time") from None
    return ExecResult(token or None, cert.encode() if cert else None, key.encode() if key else None, expiry)


def _log_stderr(stderr: bytes, config: ExecConfig, secrets: tuple[str | None, ...]) -> None:
    lines = [ln for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    secret = [s for s in secrets if s]
    shown = [ln[:200] for ln in lines if not any(s in ln for s in secret)][:MAX_STDERR_LINES]
    for line in shown:
        log.warning("exec credential plugin %s: %s", os.path.basename(config.command), line)


class ExecPlugin:
    """One configured plugin and its cached credential; ``get()`` is safe to call from many
    reflectors at once: only one run at a time, the others take its result."""

    def __init__(self, config: ExecConfig, cluster: Cluster | None, *, timeout: float) -> None:
        self.config, self.cluster, self.timeout = config, cluster, timeout
        self.runs = 0
        self._cached: ExecResult | None = None
        self._lock = asyncio.Lock()

    def _fresh(self) -> ExecResult | None:
        cached = self._cached
        if cached is None or (cached.expiry is not None and time.time() >= cached.expiry):
            return None
        return cached

    async def get(self) -> tuple[ExecResult, bool]:
        """The current credential, and whether it was just obtained (certificates to reload)."""
        cached = self._fresh()
        if cached is not None:
            return cached, False
        async with self._lock:
            cached = self._fresh()
            if cached is not None:
                return cached, False
            self._cached = await self._run()
            return self._cached, True

    def invalidate(self) -> None:
        """After a 401: the next ``get()`` runs the plugin again."""
        self._cached = None

    async def _run(self) -> ExecResult:
        config = self.config
        where = f"{config.where} plugin {os.path.basename(config.command)}"
        env = dict(os.environ)
        env.update(config.env)
        env["KUBERNETES_EXEC_INFO"] = exec_info(config, self.cluster)
        hint = f" ({config.install_hint})" if config.install_hint else ""
        self.runs += 1
        try:
            proc = await asyncio.create_subprocess_exec(
                config.command, *config.args, env=env, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
        except FileNotFoundError:
            raise ApiUnauthorized(f"{where}: executable not found{hint}") from None
        except OSError as e:
            raise ApiUnauthorized(f"{where} cannot be started: {e.__class__.__name__}") from None
        try:
            async with asyncio.timeout(self.timeout):
                stdout, stderr = await proc.communicate()
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise ApiUnauthorized(f"{where} did not answer within {self.timeout:g}s") from None
        except BaseException:
            proc.kill()
            await proc.wait()
            raise
        if len(stdout) > MAX_OUTPUT:
            raise ApiUnauthorized(f"{where} printed more than {MAX_OUTPUT >> 20} MiB")
        if proc.returncode != 0:
            _log_stderr(stderr, config, ())
            raise ApiUnauthorized(f"{where} failed with exit status {proc.returncode}{hint}")
        result = parse(stdout, config)
        _log_stderr(stderr, config, (result.token,))
        return result
