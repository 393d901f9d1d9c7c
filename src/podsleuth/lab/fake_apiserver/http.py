"""Request routing of the fake API server: paths, auth, RBAC, lists, gets, creates, replaces
(PUT, with optimistic concurrency on ``metadata.resourceVersion``), logs, watches, and
TokenReviews (``authentication.k8s.io/v1``, answered from the tokens a test registered), and the
service proxy (``proxy``).

Responses follow the real kube-apiserver: errors are ``metav1.Status`` JSON bodies with the
real reasons and messages; watches are 200 chunked JSON lines; a too-old resourceVersion is an
ERROR event carrying a 410 Status inside the 200 stream (or, optionally, a plain HTTP 410).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from podsleuth.lab.fake_apiserver import proxy, watches
from podsleuth.lab.fake_apiserver.selectors import parse_selector
from podsleuth.lab.fake_apiserver.store import Kind, decode_continue, encode_continue

if TYPE_CHECKING:
    from podsleuth.lab.fake_apiserver.server import FakeApiServer

_TRUE = {"1", "t", "T", "true", "TRUE", "True"}
_CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. You can start a "
    "new list without the continue parameter, or use the continue token in this response to retrieve "
    "the remainder of the results. Continuing with the provided token results in an inconsistent list - "
    "objects that were created, modified, or deleted between the time the first chunk was returned and "
    "now may show up in the list."
)


def status(code: int, reason: str, message: str, **extra: Any) -> web.Response:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code, **extra}
    return web.Response(status=code, body=msgspec.json.encode(body), content_type="application/json")


@dataclass
class Target:
    kind: Kind
    namespace: str | None
    name: str | None
    sub: str | None


def parse_path(api: FakeApiServer, path: str) -> Target | None:
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api" and parts[1] == "v1":
        gv, rest = "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        gv, rest = f"{parts[1]}/{parts[2]}", parts[3:]
    else:
        return None
    if gv.rpartition("/")[0] in api.disabled_groups or not rest:
        return None
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    kind = api.store.lookup(gv, rest[0])
    if kind is None or (namespace is not None and not kind.namespaced) or len(rest) > 3:
        return None
    return Target(kind, namespace, rest[1] if len(rest) > 1 else None, rest[2] if len(rest) > 2 else None)


def forbidden(api: FakeApiServer, verb: str, target: Target) -> web.Response | None:
    denied = [api.denied, api.denied_cluster_wide] if target.namespace is None else [api.denied]
    if not any((verb, target.kind.key) in d or (verb, "*") in d for d in denied):
        return None
    resource = target.kind.plural + (f"/{target.sub}" if target.sub else "")
    scope = f'in the namespace "{target.namespace}"' if target.namespace else "at the cluster scope"
    what = f"{target.kind.plural} \"{target.name}\"" if target.name else target.kind.plural
    message = (f'{what} is forbidden: User "{api.user}" cannot {verb} resource "{resource}" '
               f'in API group "{target.kind.group}" {scope}')
    return status(403, "Forbidden", message, details={"kind": target.kind.plural})


async def handle(api: FakeApiServer, request: web.Request) -> web.StreamResponse:
    api.requests.append((request.method, request.path, dict(request.query)))
    expected = api.authorization or (f"Bearer {api.token}" if api.token is not None else None)
    if expected is not None and request.headers.get("Authorization") != expected:
        return status(401, "Unauthorized", "Unauthorized")
    if request.path == "/version":
        return web.json_response({"major": "1", "minor": "30", "gitVersion": "v1.30.0-fake"})
    if request.path == TOKENREVIEWS and "authentication.k8s.io" not in api.disabled_groups:
        return await _token_review(api, request)
    if (proxied := proxy.PATH.match(request.path)) is not None:
        return await proxy.handle(api, request, proxied)
    target = parse_path(api, request.path)
    if target is None:
        return status(404, "NotFound", "the server could not find the requested resource")
    if api.delay > 0:
        await asyncio.sleep(api.delay)
    if api.failing > 0:
        api.failing -= 1
        if api.fail_code == 429:  # the max-in-flight / APF filter: plain text and Retry-After
            return web.Response(status=429, text=TOO_MANY, headers={"Retry-After": str(api.retry_after)})
        return status(api.fail_code, *_FAULTS.get(api.fail_code, _FAULTS[500]))
    q = request.query
    if request.method == "POST" and target.name is None:
        return forbidden(api, "create", target) or await _create(api, request, target)
    if request.method == "PUT" and target.name is not None and target.sub is None:
        return forbidden(api, "update", target) or await _replace(api, request, target)
    if request.method != "GET":
        return status(405, "MethodNotAllowed", f"the server does not allow this method: {request.method}")
    if target.name is not None:
        return forbidden(api, "get", target) or _get(api, target, q)
    if q.get("watch", "") in _TRUE:
        return forbidden(api, "watch", target) or await _watch(api, request, target)
    return forbidden(api, "list", target) or _list(api, target, q)


TOKENREVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews"
TOO_MANY = "Too many requests, please try again later.\n"
"""k8s.io/apiserver filters' tooManyRequests: http.Error with this text, header Retry-After."""

_FAULTS = {  # reason and message of the Status kube-apiserver sends with these codes
    500: ("InternalError", "Internal error occurred: etcdserver: request timed out"),
    503: ("ServiceUnavailable", "the server is currently unable to handle the request"),
    429: ("TooManyRequests", "the server has received too many requests and has asked us to try again later"),
}


async def _token_review(api: FakeApiServer, request: web.Request) -> web.StreamResponse:
    """Like kube-apiserver: a virtual resource, create only, not persisted; the answer echoes the
    request's ``spec`` (token included) and adds ``status``; unknown tokens are not an error,
    just ``authenticated: false``."""
    if request.method != "POST":
        return status(405, "MethodNotAllowed", f"the server does not allow this method: {request.method}")
    if ("create", "authentication.k8s.io/tokenreviews") in api.denied or ("create", "*") in api.denied:
        return status(403, "Forbidden", f'tokenreviews.authentication.k8s.io is forbidden: User "{api.user}" '
                      'cannot create resource "tokenreviews" in API group "authentication.k8s.io" at the '
                      "cluster scope", details={"group": "authentication.k8s.io", "kind": "tokenreviews"})
    try:
        obj = msgspec.json.decode(await request.read())
    except msgspec.DecodeError as e:
        return status(400, "BadRequest", f"the object provided is unrecognized: {e}")
    spec = obj.get("spec") if isinstance(obj, dict) else None
    if not isinstance(obj, dict) or obj.get("kind") != "TokenReview" or not isinstance(spec, dict):
        return status(400, "BadRequest", "the object provided is not a TokenReview")
    token = spec.get("token")
    if not isinstance(token, str) or not token:
        return status(422, "Invalid", 'TokenReview.authentication.k8s.io "" is invalid: spec.token: '
                      "Required value: token must not be empty")
    username = api.token_reviews.get(token)
    review_status: dict[str, Any] = {"authenticated": False, "user": {}}
    if username is not None:
        uid, groups = api.token_review_users.get(username, ("", ()))
        review_status = {"authenticated": True, "audiences": ["https://kubernetes.default.svc"],
                         "user": {"username": username, "uid": uid, "groups": list(groups)}}
    body = {"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"creationTimestamp": None}, "spec": spec, "status": review_status}
    return web.Response(status=201, body=msgspec.json.encode(body), content_type="application/json")


def _selectors(q: Any) -> tuple[Any, Any]:
    return parse_selector(q.get("labelSelector")), parse_selector(q.get("fieldSelector"), fields=True)


def _get(api: FakeApiServer, target: Target, q: Any) -> web.StreamResponse:
    assert target.name is not None
    entry = api.store.get(target.kind.key, target.namespace or "", target.name)
    if entry is None:
        return status(404, "NotFound", f'{target.kind.plural} "{target.name}" not found',
                      details={"name": target.name, "kind": target.kind.plural})
    if target.sub == "log" and target.kind.plural == "pods":
        container = q.get("container", "")
        previous = q.get("previous", "") in _TRUE
        text = api.logs.get((target.namespace or "", target.name, container, previous))
        if text is None and not container:
            text = next((t for (ns, pod, _c, prev), t in api.logs.items()
                         if (ns, pod, prev) == (target.namespace, target.name, previous)), None)
        if text is None:
            which = "previous terminated container" if previous else "container"
            return status(400, "BadRequest", f'{which} "{container}" in pod "{target.name}" not found')
        if "tailLines" in q:
            lines = text.splitlines(keepends=True)
            text = "".join(lines[-int(q["tailLines"]):]) if int(q["tailLines"]) > 0 else ""
        return web.Response(text=text, content_type="text/plain")
    if target.sub is not None:
        return status(404, "NotFound", "the server could not find the requested resource")
    return web.Response(body=entry.raw, content_type="application/json")


def _list(api: FakeApiServer, target: Target, q: Any) -> web.StreamResponse:
    try:
        labels, fields = _selectors(q)
    except ValueError as e:
        return status(400, "BadRequest", f"unable to parse requested label selector: {e}")
    limit = int(q.get("limit") or 0)
    list_rv, start = api.store.rv, None
    if q.get("continue"):
        try:
            list_rv, start = decode_continue(q["continue"])
        except (ValueError, KeyError, msgspec.DecodeError):
            return status(400, "BadRequest", "continue key is not valid: incorrect encoded start")
        if list_rv < api.store.compacted:
            return status(410, "Expired", _CONTINUE_EXPIRED)
    items: list[bytes] = []
    last = None
    more = False
    for entry in api.store.scan(target.kind.key, namespace=target.namespace, start=start):
        if labels is not None and not labels(entry.labels):
            continue
        if fields is not None and not fields(entry.fields):
            continue
        if limit and len(items) >= limit:
            more = True
            break
        items.append(entry.raw)
        last = (entry.namespace, entry.name)
    meta: dict[str, Any] = {"resourceVersion": str(list_rv)}
    if more and last is not None:
        meta["continue"] = encode_continue(list_rv, last)
    head = msgspec.json.encode({"kind": f"{target.kind.kind}List", "apiVersion": target.kind.group_version,
                                "metadata": meta})
    body = head[:-1] + b',"items":[' + b",".join(items) + b"]}"
    return web.Response(body=body, content_type="application/json")


async def _read_object(request: web.Request) -> dict[str, Any] | web.Response:
    """The request's JSON object, or the 400 a real API server answers."""
    try:
        obj = msgspec.json.decode(await request.read())
    except msgspec.DecodeError as e:
        return status(400, "BadRequest", f"the object provided is unrecognized: {e}")
    if not isinstance(obj, dict):
        return status(400, "BadRequest", "the object provided is not a JSON object")
    return obj


async def _create(api: FakeApiServer, request: web.Request, target: Target) -> web.StreamResponse:
    obj = await _read_object(request)
    if isinstance(obj, web.Response):
        return obj
    meta = obj.setdefault("metadata", {})
    if target.namespace is not None:
        meta["namespace"] = target.namespace
    name = meta.get("name")
    if name and api.store.get(target.kind.key, target.namespace or "", name) is not None:
        return status(409, "AlreadyExists", f'{target.kind.plural} "{name}" already exists')
    stored = api.put(target.kind.key, obj)
    return web.Response(status=201, body=msgspec.json.encode(stored), content_type="application/json")


async def _replace(api: FakeApiServer, request: web.Request, target: Target) -> web.StreamResponse:
    """PUT: replace the whole object; a ``metadata.resourceVersion`` that is not the stored one
    is a 409 Conflict (optimistic concurrency), none at all an unconditional update."""
    assert target.name is not None
    obj = await _read_object(request)
    if isinstance(obj, web.Response):
        return obj
    meta = obj.setdefault("metadata", {})
    if meta.get("name", target.name) != target.name:
        return status(400, "BadRequest", f"the name of the object ({meta['name']}) does not match the name "
                      f"on the URL ({target.name})")
    meta["name"] = target.name
    if target.namespace is not None:
        meta["namespace"] = target.namespace
    kind = target.kind
    entry = api.store.get(kind.key, target.namespace or "", target.name)
    if entry is None:
        return status(404, "NotFound", f'{kind.plural} "{target.name}" not found',
                      details={"name": target.name, "kind": kind.plural})
    resource = f"{kind.plural}.{kind.group}" if kind.group else kind.plural
    rv = meta.get("resourceVersion")
    if rv and str(rv) != str(entry.rv):
        return status(409, "Conflict", f'Operation cannot be fulfilled on {resource} "{target.name}": '
                      "the object has been modified; please apply your changes to the latest version and "
                      "try again",
                      details={"name": target.name, "group": kind.group, "kind": kind.plural})
    old = msgspec.json.decode(entry.raw)
    meta["uid"] = old["metadata"].get("uid")
    meta["creationTimestamp"] = old["metadata"].get("creationTimestamp")
    stored = api.put(kind.key, obj)
    return web.Response(status=200, body=msgspec.json.encode(stored), content_type="application/json")


async def _watch(api: FakeApiServer, request: web.Request, target: Target) -> web.StreamResponse:
    q = request.query
    try:
        labels, fields = _selectors(q)
    except ValueError as e:
        return status(400, "BadRequest", f"unable to parse requested label selector: {e}")
    bookmarks = q.get("allowWatchBookmarks", "") in _TRUE
    initial = q.get("sendInitialEvents", "") in _TRUE and api.streaming_lists != "ignore"
    if initial:
        if api.streaming_lists == "reject":
            return status(422, "Invalid", 'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: '
                          'Forbidden: sendInitialEvents is forbidden for watch unless the WatchList '
                          'feature gate is enabled')
        if q.get("resourceVersionMatch") != "NotOlderThan" or not bookmarks:
            return status(422, "Invalid", 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: '
                          "Forbidden: sendInitialEvents requires resourceVersionMatch=NotOlderThan")
    rv_param = q.get("resourceVersion", "")
    from_rv = int(rv_param) if rv_param.isdigit() and rv_param != "0" else None
    store = api.store
    if from_rv is not None and not initial and from_rv < store.floor:
        message = f"too old resource version: {from_rv} ({store.floor + 1})"
        if api.gone_form == "http":
            return status(410, "Gone", message)
        resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        await resp.write(watches.status_line(410, "Gone" if api.gone_form == "gone" else "Expired", message))
        await resp.write_eof()
        return resp
    conn = watches.WatchConn(target.kind, target.namespace, labels, fields, bookmarks)
    conn.transport = request.transport
    # snapshot and subscribe with no await in between: nothing can slip through the gap
    if from_rv is None or initial:
        for entry in store.scan(target.kind.key, namespace=target.namespace, start=None):
            if conn.matches(entry):
                conn.queue.put_nowait(watches.event_line("ADDED", entry.raw))
        if initial:
            conn.queue.put_nowait(watches.bookmark_line(target.kind, store.rv, initial_end=True))
    else:
        for record in store.since(target.kind.key, from_rv):
            conn.on_record(record)
    store.listeners.add(conn.on_record)
    api.watches.add(conn)
    resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    resp.enable_chunked_encoding()
    try:
        await resp.prepare(request)
        timeout = float(q.get("timeoutSeconds") or api.default_watch_timeout)
        await conn.pump(resp, seconds=timeout)
    finally:
        store.listeners.discard(conn.on_record)
        api.watches.discard(conn)
    return resp
