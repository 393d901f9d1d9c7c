"""Credentials for the API server, loaded with ``kubernetes_asyncio.config`` and nothing more of it.

That library knows every kubeconfig form (certificate files or data, tokens, exec plugins,
OIDC, in-cluster service-account tokens that rotate); we take host, TLS material and a way to
get a fresh ``Authorization`` value, and do our own HTTP.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from kubernetes_asyncio.client import Configuration
from kubernetes_asyncio.config import incluster_config, kube_config

from podsleuth.errors import ApiUnauthorized, KubeconfigError

DEFAULT_KUBECONFIG = Path("~/.kube/config")
EXEC_PLUGIN_TIMEOUT = 30.0


@dataclass(eq=False)
class Credentials:
    """Where the server is and how to authenticate; ``authorization()`` refreshes tokens."""

    server: str
    ssl: ssl.SSLContext | None
    server_hostname: str | None
    configuration: Any
    loader: Any = None
    source: str = ""
    context: str = ""
    """The kubeconfig context used, or ``in-cluster``: the default cluster name of incidents."""

    _refresh: asyncio.Lock = field(default_factory=asyncio.Lock)
    """One exec-plugin run at a time: after expiry every reflector asks at once."""

    async def authorization(self) -> str | None:
        """The current ``Authorization`` header value; never log it."""
        loader = self.loader
        # an exec plugin with an expiry is re-run here only once the token has expired
        if _has_exec(loader) and hasattr(loader, "exec_plugin_expiry"):
            await self._run_exec_plugin()
        value = await self.configuration.get_api_key_with_prefix("BearerToken")
        return str(value) if value else None

    async def invalidate(self) -> None:
        """After a 401: make the next request run the exec plugin again, if there is one."""
        loader = self.loader
        if _has_exec(loader):
            if hasattr(loader, "exec_plugin_expiry"):
                del loader.exec_plugin_expiry
            await self._run_exec_plugin()

    async def _run_exec_plugin(self) -> None:
        """The credential plugin (``aws eks get-token``, ``gke-gcloud-auth-plugin``...) under a
        timeout: a hung plugin must not stall every request silently."""
        async with self._refresh:
            try:
                async with asyncio.timeout(EXEC_PLUGIN_TIMEOUT):
                    await self.loader.load_from_exec_plugin()
            except TimeoutError:
                raise ApiUnauthorized(
                    f"the kubeconfig's exec credential plugin did not answer within {EXEC_PLUGIN_TIMEOUT:g}s"
                ) from None
            except Exception as e:  # kubernetes_asyncio's ConfigException and friends
                raise ApiUnauthorized(f"the kubeconfig's exec credential plugin failed: {e}") from e
            self.configuration.api_key["BearerToken"] = self.loader.token


def _has_exec(loader: Any) -> bool:
    return loader is not None and loader._user is not None and "exec" in loader._user


def _ssl_context(cfg: Any) -> ssl.SSLContext | None:
    if not str(cfg.host).startswith("https"):
        return None
    context = ssl.create_default_context(cafile=cfg.ssl_ca_cert)
    if cfg.cert_file:
        context.load_cert_chain(cfg.cert_file, keyfile=cfg.key_file)
    if not cfg.verify_ssl:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _check_kubeconfig(path: Path, context: str | None) -> str:
    """Fail with one line naming the problem before the library fails with a traceback;
    returns the name of the context that will be used."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KubeconfigError(f"kubeconfig {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise KubeconfigError(f"kubeconfig {path} cannot be read: {e.__class__.__name__}") from None
    except yaml.YAMLError:
        raise KubeconfigError(f"kubeconfig {path} is not valid YAML") from None
    if not isinstance(data, dict):
        raise KubeconfigError(f"kubeconfig {path} is not a kubeconfig (expected a mapping)")
    names = [c.get("name") for c in data.get("contexts") or [] if isinstance(c, dict)]
    available = ", ".join(str(n) for n in names) or "none"
    wanted = context or data.get("current-context")
    if not wanted:
        raise KubeconfigError(f"kubeconfig {path} has no current-context; "
                              f"pass --context (available: {available})")
    if wanted not in names:
        raise KubeconfigError(f"context '{wanted}' not found in {path} (available: {available})")
    return str(wanted)


def _resolve(kubeconfig: str | None) -> Path | None:
    """The kubeconfig to read, or None to use the in-cluster config."""
    explicit = kubeconfig or os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or None
    if explicit is not None:
        return Path(explicit).expanduser()
    path = DEFAULT_KUBECONFIG.expanduser()
    if path.exists():
        return path
    if not os.environ.get(incluster_config.SERVICE_HOST_ENV_NAME):
        raise KubeconfigError(f"no kubeconfig at {path} and not running in a cluster "
                              "(KUBERNETES_SERVICE_HOST is unset); pass --kubeconfig")
    return None


def _in_cluster(cfg: Any) -> Credentials:
    try:
        incluster_config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
    except Exception as e:  # the library raises ConfigException or OSError
        raise KubeconfigError(f"in-cluster config unusable: {e}") from e
    return Credentials(
        str(cfg.host), _ssl_context(cfg), cfg.tls_server_name, cfg, None, "in-cluster", context="in-cluster"
    )


async def load_credentials(*, kubeconfig: str | None, context: str | None) -> Credentials:
    """Explicit path, else $KUBECONFIG, else ~/.kube/config, else the in-cluster service account."""
    path = _resolve(kubeconfig)
    cfg = Configuration()
    if path is None:
        return _in_cluster(cfg)
    used = _check_kubeconfig(path, context)
    try:
        loader = await kube_config.load_kube_config(
            config_file=str(path), context=context, client_configuration=cfg, persist_config=False
        )
        ssl_context = _ssl_context(cfg)
    except KubeconfigError:
        raise
    except Exception as e:  # ConfigException, exec plugin failures, bad cert files
        first = str(e).splitlines()[0] if str(e) else e.__class__.__name__
        raise KubeconfigError(f"kubeconfig {path}: {first}") from e
    return Credentials(
        str(cfg.host).rstrip("/"), ssl_context, cfg.tls_server_name, cfg, loader, str(path), context=used
    )
