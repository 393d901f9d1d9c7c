"""Keep secrets out of logs and ``config show``.

Webhook and chat URLs carry their credentials inline (``?access_token=``, ``user:pass@``,
``hooks.slack.com/services/T../B../XXX``, ``dingtalk://TOKEN``), so every URL is passed through
``redact`` before it is printed, and error texts through ``scrub`` with the sink's known
secrets, because library exceptions echo the full request URL.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

MASK = "***"

# Schemes whose host is a real host name; for apprise service schemes the "host" is a token.
_HOST_SCHEMES = frozenset(
    {"http", "https", "json", "jsons", "form", "forms", "xml", "xmls", "mailto", "mailtos", "ws", "wss"}
)
_SECRET_HEADER = re.compile(r"auth|token|secret|key|signature|cookie|password|session", re.IGNORECASE)
_TOKENISH = re.compile(r"^[A-Za-z0-9_\-.~+=]{8,}$")


def _looks_like_token(part: str) -> bool:
    if not _TOKENISH.match(part):
        return False
    return any(c.isdigit() for c in part) or len(part) >= 20


def redact(url: str) -> str:
    """The URL with userinfo, query values and token-like path segments masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    if not parts.scheme:
        return MASK if _looks_like_token(url) else url
    host = parts.hostname or ""
    port = f":{parts.port}" if _safe_port(parts) else ""
    if parts.scheme.lower() not in _HOST_SCHEMES and _looks_like_token(host):
        host = MASK
    netloc = host + port
    if parts.username is not None or parts.password is not None:
        if parts.scheme.lower().startswith("mailto") and parts.password is None:
            netloc = f"{parts.username}@{netloc}"
        else:
            netloc = f"{MASK}@{netloc}"
    segments = [MASK if _looks_like_token(s) else s for s in parts.path.split("/")]
    query = "&".join(
        f"{kv.split('=', 1)[0]}={MASK}" if "=" in kv else kv for kv in parts.query.split("&") if kv
    )
    return urlunsplit((parts.scheme, netloc, "/".join(segments), query, parts.fragment))


def _safe_port(parts: object) -> bool:
    try:
        return getattr(parts, "port", None) is not None
    except ValueError:
        return False


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: (MASK if _SECRET_HEADER.search(k) else v) for k, v in headers.items()}


def url_secrets(url: str) -> list[str]:
    """The parts of ``url`` that ``redact`` hides, to scrub them from free text."""
    out: list[str] = []
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    if parts.password:
        out.append(parts.password)
    if parts.username and parts.scheme.lower() not in ("mailto", "mailtos"):
        out.append(parts.username)
    if parts.scheme.lower() not in _HOST_SCHEMES and parts.hostname and _looks_like_token(parts.hostname):
        out.append(parts.hostname)
    out += [s for s in parts.path.split("/") if _looks_like_token(s)]
    out += [kv.split("=", 1)[1] for kv in parts.query.split("&") if "=" in kv and kv.split("=", 1)[1]]
    return [s for s in out if len(s) >= 4]


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every known secret in free text (exception messages, library logs)."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, MASK)
    return text


_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]+")


def scrub_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Free text with every known secret masked and every URL in it ``redact``-ed, for errors
    whose secrets are not known in advance (a sink's exception echoing some other URL)."""
    return _URL.sub(lambda m: redact(m.group(0)), scrub(text, secrets))


def describe_error(error: BaseException, secrets: Iterable[str] = ()) -> str:
    """``Type: message`` on one line, scrubbed; the message of the exception's cause or context
    is added when it has one (library errors are often wrapped)."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen and len(parts) < 3:
        seen.add(id(current))
        message = " ".join(str(current).split())
        parts.append(f"{type(current).__name__}: {message}" if message else type(current).__name__)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return scrub_text(" <- ".join(parts), secrets)


def scrubbed_traceback(error: BaseException, secrets: Iterable[str] = ()) -> str:
    """The formatted traceback (with chained exceptions) passed through ``scrub_text``."""
    return scrub_text("".join(traceback.format_exception(error)), secrets)


class ScrubFilter(logging.Filter):
    """Rewrites records of a library logger (apprise) that may print request URLs with tokens."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = tuple(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message, self.secrets)
        if clean != message:
            record.msg, record.args = clean, None
        return True
