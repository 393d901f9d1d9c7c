"""HTTP status -> the podsleuth ApiError tree, with messages an operator can act on.

One mapping (``error_for``) for every path a status reaches us by: an HTTP error response of
any verb, and an ERROR event inside a watch stream. A 403 names the verb, resource and scope
RBAC lacks; a 429 carries the server's Retry-After; a non-Status body (an HTML error page of a
proxy, say) is truncated before it goes into a message.
"""

from __future__ import annotations

import re

import msgspec

from podsleuth import errors

MAX_BODY = 200

_FORBIDDEN_RE = re.compile(
    r'User "(?P<user>[^"]*)" cannot (?P<verb>\w+) resource "(?P<resource>[^"]+)"'
    r'(?: in API group "(?P<group>[^"]*)")?(?: (?P<scope>.*))?$'
)


class StatusDetails(msgspec.Struct, frozen=True):
    retry_after_seconds: int = msgspec.field(default=0, name="retryAfterSeconds")


class Status(msgspec.Struct, frozen=True):
    """metav1.Status of an error response (kube sits below watch: its own tiny copy)."""

    kind: str = ""
    message: str = ""
    reason: str = ""
    code: int = 0
    details: StatusDetails | None = None


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
        parts = parts[:i] + parts[i + 2 :]
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


MAX_RETRY_AFTER = 300.0
"""A Retry-After longer than this is taken as this: a hostile or broken server must not park us."""

_BY_STATUS: dict[int, type[errors.ApiError]] = {
    401: errors.ApiUnauthorized,
    403: errors.ApiForbidden,
    404: errors.ApiNotFound,
    409: errors.ApiConflict,
    410: errors.ApiGone,
    429: errors.ApiThrottled,
}
_WORD = {401: "unauthorized", 404: "not found", 409: "conflict", 410: "gone", 429: "throttled"}


def retry_after(header: str | None, status: Status | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds; an HTTP date counts as 1 s) or the
    Status's ``details.retryAfterSeconds``; None when neither says, capped at MAX_RETRY_AFTER."""
    seconds: float | None = None
    if status is not None and status.details is not None and status.details.retry_after_seconds > 0:
        seconds = float(status.details.retry_after_seconds)
    if header:
        try:
            seconds = max(0.0, float(header.strip()))
        except ValueError:
            seconds = 1.0
    return None if seconds is None else min(seconds, MAX_RETRY_AFTER)


def error_for(
    code: int,
    *,
    where: str,
    detail: str,
    reason: str | None = None,
    verb: str = "get",
    path: str = "",
    status: Status | None = None,
    retry_after_s: float | None = None,
) -> errors.ApiError:
    """The ApiError of one status code, whatever carried it (response or stream event)."""
    cls = _BY_STATUS.get(code, errors.ApiServerError)
    if cls is errors.ApiForbidden and path:
        return cls(forbidden_message(verb=verb, path=path, status=status), status=code, reason=reason)
    if cls is errors.ApiUnauthorized:
        why = "credentials missing, wrong or expired"
        return cls(f"unauthorized: {where}: {why}", status=code, reason=reason)
    if cls is errors.ApiThrottled:
        wait = f" (retry after {retry_after_s:g}s)" if retry_after_s is not None else ""
        return errors.ApiThrottled(f"throttled: {where}: {detail}{wait}", status=code, reason=reason,
                                   retry_after=retry_after_s)  # fmt: skip
    word = _WORD.get(code, f"HTTP {code}")
    return cls(f"{word}: {where}: {detail}", status=code, reason=reason)


def api_error(
    *,
    status: int,
    body: bytes,
    method: str,
    path: str,
    verb: str,
    server: str,
    retry_after_header: str | None = None,
) -> errors.ApiError:
    """The ApiError for one non-2xx response."""
    parsed = parse_status(body)
    reason = parsed.reason if parsed else None
    detail = parsed.message if parsed and parsed.message else truncate(body.decode("utf-8", "replace"))
    return error_for(
        status, where=f"{method} {server}{path}", detail=detail, reason=reason, verb=verb, path=path,
        status=parsed, retry_after_s=retry_after(retry_after_header, parsed) if status == 429 else None,
    )  # fmt: skip


def stream_error(status: Status, *, where: str) -> errors.ApiError:
    """The ApiError for an ERROR event inside a watch stream (its Status's code decides)."""
    code = status.code or 500
    return error_for(
        code, where=where, detail=f"{status.reason}: {status.message}".strip(": "), reason=status.reason,
        verb="watch", status=status, retry_after_s=retry_after(None, status) if code == 429 else None,
    )  # fmt: skip
