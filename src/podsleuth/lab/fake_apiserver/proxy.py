"""The service proxy subresource (``/api/v1/namespaces/NS/services/[SCHEME:]NAME[:PORT]/proxy/...``)
as kube-apiserver serves it, so a client that reaches an in-cluster HTTP service through the API
server (``silence add --context``) is tested on the wire it will meet.

What is copied from the real server (kubernetes ``pkg/registry/core/service/proxy.go``,
``.../service/storage/storage.go`` ``ResourceLocation``, ``apimachinery/pkg/util/proxy``):

- the caller is authenticated first, and the ``Authorization`` header is then REMOVED from the
  request (``apiserver/pkg/authentication/request/bearertoken``: "remove the bearer token so that
  no one is ever tempted to use it"): the upstream never sees it;
- RBAC is checked as verb (POST: ``create``, GET: ``get``, ...) on ``services/proxy``, with the
  name as it is in the URL (``podsleuth-watcher:ui``): ``deny("create", "services/proxy")``;
- a port number is looked up in the Service (404 ``services "NAME" not found``, 503 ``no service
  port N found``) and replaced by its name; then a missing Endpoints object is 404 ``endpoints
  "NAME" not found``, none ready or none with that port name 503 ``no endpoints available for
  service ...``, an endpoint that does not answer 503 ``error trying to reach service: ...``; a
  named port must be named in the URL (kubernetes#20070);
- method, path remainder, query, body and the other headers go through (plus
  ``X-Forwarded-For``), and the upstream's status, content type and body come back unchanged.

Endpoints are what a test registers (``FakeApiServer.add_service``): port name -> upstream URL.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import aiohttp
import msgspec
from aiohttp import web

from podsleuth.lab.fake_apiserver.store import Kind

if TYPE_CHECKING:
    from podsleuth.lab.fake_apiserver.server import FakeApiServer

SERVICES = Kind("v1", "services", "Service", True)
PATH = re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/services/(?P<id>[^/]+)/proxy(?P<rest>/.*)?$")
VERBS = {"GET": "get", "HEAD": "get", "POST": "create", "PUT": "update", "PATCH": "patch",
         "DELETE": "delete", "OPTIONS": "get"}  # fmt: skip
HOP_BY_HOP = {"authorization", "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
              "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length"}  # fmt: skip
KEPT = ("content-type", "content-encoding")
TIMEOUT = 30.0


def _status(code: int, reason: str, message: str, **extra: object) -> web.Response:
    from podsleuth.lab.fake_apiserver.http import status

    return status(code, reason, message, **extra)


def _split_id(ident: str) -> tuple[str, str] | None:
    """``[scheme:]name[:port]`` -> (name, port), as ``utilnet.SplitSchemeNamePort`` reads it
    (three parts: the first is the scheme); None when it is not of that form."""
    parts = ident.split(":")
    if len(parts) == 3 and parts[0] in ("", "http", "https"):
        parts = parts[1:]
    if len(parts) > 2 or not parts[0]:
        return None
    return parts[0], parts[1] if len(parts) == 2 else ""


def _port_named(service: dict[str, object], number: int) -> str | None:
    """The name of the Service port with this number; None: the Service has no such port."""
    spec = service.get("spec")
    ports = spec.get("ports") if isinstance(spec, dict) else None
    for p in ports if isinstance(ports, list) else []:
        if isinstance(p, dict) and p.get("port") == number:
            return str(p.get("name", ""))
    return None


async def handle(api: FakeApiServer, request: web.Request, match: re.Match[str]) -> web.StreamResponse:
    namespace, ident, rest = match["ns"], match["id"], match["rest"] or "/"
    split = _split_id(ident)
    if split is None:
        return _status(400, "BadRequest", f"invalid service request {ident!r}")
    name, port = split
    verb = VERBS.get(request.method)
    if verb is None:
        return _status(405, "MethodNotAllowed", f"the server does not allow this method: {request.method}")
    if (verb, "services/proxy") in api.denied or (verb, "*") in api.denied:
        return _status(403, "Forbidden", f'services "{ident}" is forbidden: User "{api.user}" cannot {verb} '
                       f'resource "services/proxy" in API group "" in the namespace "{namespace}"',
                       details={"name": ident, "kind": "services"})  # fmt: skip
    # ResourceLocation: a port number is turned into the Service port's name; then the
    # Endpoints (here: what add_service registered) must have an address for that port name.
    entry = api.store.get(SERVICES.key, namespace, name) if SERVICES.key in api.store.by_key else None
    if port.isdigit():
        if entry is None:
            return _status(404, "NotFound", f'services "{name}" not found',
                           details={"name": name, "kind": "services"})
        named = _port_named(msgspec.json.decode(entry.raw), int(port))
        if named is None:
            return _status(503, "ServiceUnavailable", f'no service port {port} found for service "{name}"')
        port = named
    if entry is None:  # no Service, so no Endpoints object of its name either
        return _status(404, "NotFound", f'endpoints "{name}" not found',
                       details={"name": name, "kind": "endpoints"})
    ready = api.endpoints.get((namespace, name), {})
    if not ready:
        return _status(503, "ServiceUnavailable", f'no endpoints available for service "{name}"')
    upstream = ready.get(port)
    if upstream is None:
        return _status(503, "ServiceUnavailable", f'no endpoints available for service "{ident}"')
    return await _forward(request, upstream.rstrip("/") + rest)


async def _forward(request: web.Request, url: str) -> web.StreamResponse:
    headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
    peer = request.remote or ""
    prior = request.headers.get("X-Forwarded-For")
    headers["X-Forwarded-For"] = f"{prior}, {peer}" if prior else peer
    body = await request.read()
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout, auto_decompress=False) as http,
            http.request(request.method, url, params=request.query, data=body or None, headers=headers,
                         allow_redirects=False) as answer,  # fmt: skip
        ):
            data = await answer.read()
            kept = {k: v for k, v in answer.headers.items() if k.lower() in KEPT}
            return web.Response(status=answer.status, body=data, headers=kept)
    except (aiohttp.ClientError, TimeoutError, OSError) as e:
        what = f"{e.__class__.__name__} {e}".strip()
        return _status(503, "ServiceUnavailable", f"error trying to reach service: {what}")
