"""A console's JSON API from the command line: how a silence made on a laptop reaches a watcher
running in the cluster, either directly (``silence add --console URL --token-file F``, after a
``kubectl port-forward``) or through the API server's service proxy with the user's own kube
credentials (``silence add --context NAME``: POST ``/api/v1/namespaces/NS/services/NAME:PORT/
proxy/api/silences``, allowed by RBAC ``create`` on ``services/proxy``).

Through the proxy the write token travels in ``X-Podsleuth-Token``: kube-apiserver removes the
``Authorization`` header once it has authenticated the caller, so the console never sees the
user's kube token, and could not see a console token sent there either.

One request with a timeout; every failure (unreachable, refused token, bad answer) is one line.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from typing import Any

import aiohttp

from podsleuth import errors
from podsleuth.cli.ui import read_token
from podsleuth.console.api import TOKEN_HEADER
from podsleuth.console.write_token import MIN_TOKEN
from podsleuth.deploy.common import DEFAULT_NAMESPACE, TOKEN_KEY, UI_TOKEN_SECRET, WATCHER
from podsleuth.errors import InputError, ResourceError
from podsleuth.kube import auth
from podsleuth.kube.client import KubeClient

TIMEOUT = 10.0
DEFAULT_SERVICE = f"{DEFAULT_NAMESPACE}/{WATCHER}:ui"
"""The watcher's Service and its console port, as ``podsleuth manifests`` renders them."""
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def post_silence(
    console_url: str,
    token_file: str | None,
    *,
    matchers: dict[str, str],
    duration: str,
    comment: str,
    user: str,
) -> dict[str, Any]:
    if not console_url.startswith(("http://", "https://")):
        raise InputError(f"--console {console_url!r}: expected http(s)://HOST:PORT")
    token = read_token(token_file)
    if token is None:
        raise InputError("--console needs --token-file: the console's write token")
    body = {"matchers": matchers, "duration": duration, "comment": comment}
    url = console_url.rstrip("/") + "/api/silences"
    headers = {"Authorization": f"Bearer {token}", "X-Podsleuth-User": user}
    return asyncio.run(_post(url, body, headers))


async def _post(url: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as http,
            http.post(url, json=body, headers=headers) as answer,
        ):
            try:
                data = await answer.json(content_type=None)
            except (ValueError, aiohttp.ContentTypeError):
                data = {}
            if answer.status != 201 or not isinstance(data, dict) or "id" not in data:
                problem = data.get("error") if isinstance(data, dict) else None
                raise ResourceError(
                    f"console {url} refused the silence: HTTP {answer.status} {problem or ''}".strip()
                )
            return data
    except (aiohttp.ClientError, TimeoutError) as e:
        raise ResourceError(f"console {url} unreachable: {e.__class__.__name__} {e}".strip()) from None


def parse_service(value: str) -> tuple[str, str, str]:
    """``NS/NAME:PORT`` (port by name or number) -> (namespace, name, port)."""
    ns, slash, rest = value.partition("/")
    name, colon, port = rest.partition(":")
    if (
        not slash
        or not colon
        or not _DNS_LABEL.match(ns)
        or not _DNS_LABEL.match(name)
        or not (port.isdigit() or _DNS_LABEL.match(port))
    ):
        raise InputError(f"--service {value!r}: expected NAMESPACE/NAME:PORT, e.g. {DEFAULT_SERVICE}")
    return ns, name, port


def post_silence_via_cluster(
    *,
    kubeconfig: str | None,
    context: str | None,
    service: str,
    token_file: str | None,
    matchers: dict[str, str],
    duration: str,
    comment: str,
    user: str,
) -> dict[str, Any]:
    """POST the silence to the watcher's console through the API server's service proxy."""
    ns, name, port = parse_service(service)
    token = read_token(token_file)
    path = f"/api/v1/namespaces/{ns}/services/{name}:{port}/proxy/api/silences"
    body = {"matchers": matchers, "duration": duration, "comment": comment}
    return asyncio.run(_post_via_cluster(kubeconfig, context, path, body, token, user, (ns, name, port)))


async def _token_from_secret(client: KubeClient, ns: str) -> str:
    """The console's write token from the Secret ``podsleuth manifests`` mounts into the watcher
    (``UI_TOKEN_SECRET``, key ``token``), read with the user's own credentials: one less file to
    pass around. Never printed; every failure says how to give the token instead."""
    where = f"{ns}/{UI_TOKEN_SECRET}"
    try:
        raw = await client.get(f"/api/v1/namespaces/{ns}/secrets/{UI_TOKEN_SECRET}")
    except errors.ApiForbidden:
        raise errors.ApiForbidden(
            f"no --token-file, and you may not read the Secret {where} that holds the console's write "
            "token: pass --token-file, or get 'get' on that Secret (the podsleuth-silencer Role of "
            "docs/alerting.md#silences-from-a-laptop)", status=403,
        ) from None  # fmt: skip
    except errors.ApiNotFound:
        raise ResourceError(
            f"the watcher's console has no write token yet (no Secret {where}): create it with kubectl "
            f"-n {ns} create secret generic {UI_TOKEN_SECRET} "
            f"--from-literal={TOKEN_KEY}=\"$(openssl rand -hex 24)\""
        ) from None  # fmt: skip
    try:
        encoded = json.loads(raw)["data"][TOKEN_KEY]
        token = base64.b64decode(encoded, validate=True).decode("utf-8").strip()
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise ResourceError(f"the Secret {where} has no '{TOKEN_KEY}' key holding a token") from None
    if len(token) < MIN_TOKEN:
        raise ResourceError(f"the token in the Secret {where} is shorter than {MIN_TOKEN} characters")
    return token


class _ProxyClient(KubeClient):
    """The user's KubeClient plus the console's headers on every request (the kube
    ``Authorization`` header is still the one the kubeconfig gives)."""

    def __init__(self, *, credentials: auth.Credentials, extra: dict[str, str]) -> None:
        super().__init__(credentials=credentials, request_timeout=TIMEOUT, connect_timeout=TIMEOUT)
        self.extra = extra

    async def _headers(self) -> dict[str, str]:
        return {**await super()._headers(), **self.extra}


async def _post_via_cluster(
    kubeconfig: str | None,
    context: str | None,
    path: str,
    body: dict[str, Any],
    token: str | None,
    user: str,
    service: tuple[str, str, str],
) -> dict[str, Any]:
    credentials = await auth.load_credentials(kubeconfig=kubeconfig, context=context)
    if token is None:
        async with KubeClient(
            credentials=credentials, request_timeout=TIMEOUT, connect_timeout=TIMEOUT
        ) as plain:
            token = await _token_from_secret(plain, service[0])
    headers = {TOKEN_HEADER: token, "X-Podsleuth-User": user}
    try:
        async with _ProxyClient(credentials=credentials, extra=headers) as client:
            raw = await client.post(path, body)
    except errors.ApiError as e:
        raise _explain(e, service) from None
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict) or "id" not in data or "ends_at" not in data:
        raise ResourceError(f"the console behind {path} answered something that is not a silence")
    return data


def _explain(e: errors.ApiError, service: tuple[str, str, str]) -> errors.PodsleuthError:
    """One line the user can act on. A ``metav1.Status`` body (``e.reason`` set) is the API
    server speaking; any other body came from the console through the proxy."""
    ns, name, port = service
    where = f"service {ns}/{name}:{port}"
    if e.reason is None and e.status in (400, 401, 403, 404):
        if e.status == 401:
            return ResourceError(f"the console behind {where} refused the write token (HTTP 401): use the "
                                 "token of the watcher's --ui-token-file")  # fmt: skip
        if e.status == 403:
            return ResourceError(f"the console behind {where} is read-only (HTTP 403): give the watcher "
                                 f"a write token (--ui-token-file; the Secret {UI_TOKEN_SECRET} when "
                                 "installed by podsleuth manifests)")  # fmt: skip
        if e.status == 404:
            return ResourceError(f"{where} answered 404 for /api/silences: is it a podsleuth console?")
        return ResourceError(f"the console behind {where} refused the silence: {e}")
    if isinstance(e, errors.ApiForbidden):
        who = m[1] if (m := re.search(r" as (\S+)", str(e))) else "you"
        return errors.ApiForbidden(
            f"forbidden: {who} cannot create services/proxy \"{name}:{port}\" in the namespace \"{ns}\" "
            "(RBAC: apply and bind the podsleuth-silencer Role of docs/alerting.md#silences-from-a-laptop)",
            status=403, reason=e.reason,
        )  # fmt: skip
    if isinstance(e, errors.ApiNotFound):
        return errors.ApiNotFound(f"no service {ns}/{name} in the cluster: is the watcher installed "
                                  "(podsleuth manifests)? else pass --service NAMESPACE/NAME:PORT",
                                  status=404, reason=e.reason)  # fmt: skip
    if e.status == 503:
        detail = str(e).partition("/proxy/api/silences: ")[2] or str(e)
        return errors.ApiServerError(f"{where} has no ready endpoint: is the watcher running with "
                                     f"--ui-port? ({detail})", status=503, reason=e.reason)  # fmt: skip
    return e
