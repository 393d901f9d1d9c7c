"""HTTP status -> the podsleuth ApiError tree, with messages an operator can act on.

A 403 names the verb, resource and scope RBAC lacks; a non-Status body (an HTML error page of a
proxy, say) is truncated before it goes into a message.
"""

from __future__ import annotations

import re

import msgspec

from podsleuth import errors

MAX_BODY = 200

_FORBIDDEN_RE = re.compile(r'User "(?P<user>[^"]*)" cannot (?P<verb>\w+) resource "(?P<resource>[^"]+)"'
                           r'(?: in API group "(?P<group>[^"]*)")?(?: (?P<scope>.*))?$')


class Status(msgspec.Struct, frozen=True):
    """metav1.Status of an error response (kube sits below watch: its own tiny copy)."""

    kind: str = ""
    message: str = ""
    reason: str = ""
    code: int = 0


_STATUS_DECODER = msgspec.json.Decoder(Status)


def truncate(text: str, limit: int = MAX_BODY) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def parse_status(body: bytes) -> Status | None:
    try:
        status = _STATUS_DECODER.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return status if status.kind == "Status" else None


def _scope(path: str) -> str:
    parts = path.strip("/").split("/")
    if "namespaces" in parts[:-1]:
        return f'in the namespace "{parts[parts.index("namespaces") + 1]}"'
    return "at the cluster scope"


def _resource(path: str) -> str:
    parts = [p for p in path.strip("/").split("/") if p]
    if "namespaces" in parts[:-2]:
        i = parts.index("namespaces")
        parts = parts[: i] + parts[i + 2:]
    base = 2 if parts and parts[0] == "api" else 3
    return parts[base] if len(parts) > base else path


def forbidden_message(*, verb: str, path: str, status: Status | None) -> str:
    resource, scope, user, group = _resource(path), _scope(path), "", ""
    if status is not None and (m := _FORBIDDEN_RE.search(status.message)):
        verb, resource, user, group = m["verb"], m["resource"], m["user"], m["group"] or ""
        scope = m["scope"] or scope
    what = f"{resource}.{group}" if group else resource
    who = f" as {user}" if user else ""
    return f"forbidden: cannot {verb} {what} {scope}{who} (RBAC: grant get/list/watch on {what})"


def api_error(*, status: int, body: bytes, method: str, path: str, verb: str, server: str) -> errors.ApiError:
    """The ApiError for one non-2xx response."""
    parsed = parse_status(body)
    reason = parsed.reason if parsed else None
    detail = parsed.message if parsed and parsed.message else truncate(body.decode("utf-8", "replace"))
    where = f"{method} {server}{path}"
    if status == 401:
        return errors.ApiUnauthorized(f"unauthorized: {where}: credentials missing, wrong or expired",
                                      status=status, reason=reason)
    if status == 403:
        return errors.ApiForbidden(forbidden_message(verb=verb, path=path, status=parsed),
                                   status=status, reason=reason)
    if status == 404:
        return errors.ApiNotFound(f"not found: {where}: {detail}", status=status, reason=reason)
    if status == 410:
        return errors.ApiGone(f"gone: {where}: {detail}", status=status, reason=reason)
    return errors.ApiServerError(f"HTTP {status}: {where}: {detail}", status=status, reason=reason)
