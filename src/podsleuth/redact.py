"""Keep secrets out of logs and ``config show``.

Webhook and chat URLs carry their credentials inline (``?access_token=``, ``user:pass@``,
``hooks.slack.com/services/T../B../XXX``, ``dingtalk://TOKEN``), so every URL is passed through
``redact`` before it is printed, and error texts through ``scrub`` with the sink's known
secrets, because library exceptions echo the full request URL.

What is masked follows the URL's structure, not the look of its parts: userinfo (a store URL
keeps its user name) and every query value always; for an apprise service scheme, the parts its
own plugin parses into tokens it marks private (``discord://ID/TOKEN`` both, ``tgram://BOT:TOKEN``,
``pover://USER@TOKEN``); for apprise's generic ``json://``/``xml://``/``form://`` every path
segment; for a scheme apprise does not know, everything but the scheme. Only plain
``http(s)://`` paths, which have no structure, are masked by look (token-like segments).
"""

from __future__ import annotations

import logging
import re
import traceback
import warnings
from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, unquote_plus, urlsplit

MASK = "***"

# Schemes whose host is a real host name and whose path has no structure podsleuth knows: the
# path is masked by look (a token-like segment), userinfo and query values always.
_WEB_SCHEMES = frozenset({"http", "https", "ws", "wss"})
# apprise's generic webhooks (json://, xml://, form://): the path is the user's own endpoint and
# may be the secret (json://host/hook/SECRET), so every path segment is masked.
_GENERIC_SCHEMES = frozenset({"json", "jsons", "xml", "xmls", "form", "forms"})
_MAIL_SCHEMES = frozenset({"mailto", "mailtos"})
_STORE_SCHEMES = frozenset({"postgresql", "postgres", "sqlite"})
SAFE_HEADERS = frozenset(
    {"accept", "accept-encoding", "accept-language", "cache-control", "connection", "content-type",
     "pragma", "user-agent", "x-requested-with"}
)
"""Headers shown in clear by ``config show``; every other header value is masked."""
_TOKENISH = re.compile(r"^[A-Za-z0-9_\-.~+=]{8,}$")


def _looks_like_token(part: str) -> bool:
    if not _TOKENISH.match(part):
        return False
    return any(c.isdigit() for c in part) or len(part) >= 20


def redact(url: str) -> str:
    """The URL with its credential parts masked, chosen by the URL's structure (see the module
    docstring and docs/configuration.md "Secrets in config show and logs")."""
    return _analyse(url)[0]


def url_secrets(url: str) -> list[str]:
    """The parts of ``url`` that ``redact`` hides, to scrub them from free text."""
    return [s for s in _analyse(url)[1] if len(s) >= 4]


@lru_cache(maxsize=256)
def _analyse(url: str) -> tuple[str, tuple[str, ...]]:
    """(redacted URL, the secret strings it hides)."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme in _WEB_SCHEMES | _GENERIC_SCHEMES | _STORE_SCHEMES | _MAIL_SCHEMES:
            parts.port  # noqa: B018 - a bad port raises ValueError
    except ValueError:
        return MASK, (url,)
    if not parts.scheme:
        return (MASK, (url,)) if _looks_like_token(url) else (url, ())
    userinfo, at, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    secrets: list[str] = [unquote(v) for v in (password, user) if v]
    query, query_secrets = _mask_query(parts.query)
    secrets += query_secrets
    segments = parts.path.split("/")
    if scheme in _STORE_SCHEMES:
        netloc = (f"{user}:{MASK}@" if password else f"{user}@" if at else "") + hostport
        secrets = [unquote(password)] if password else []
        secrets += query_secrets
    elif scheme in _MAIL_SCHEMES:
        netloc = (f"{MASK}@" if password else f"{user}@" if at else "") + hostport
        secrets = [unquote(password)] if password else []
        secrets += query_secrets
    elif scheme in _WEB_SCHEMES or scheme in _GENERIC_SCHEMES:
        netloc = (f"{MASK}@" if at else "") + hostport
        generic = scheme in _GENERIC_SCHEMES
        masked = [bool(seg) and (generic or _looks_like_token(unquote(seg))) for seg in segments]
        secrets += [unquote(seg) for seg, m in zip(segments, masked, strict=True) if m]
        segments = [MASK if m else seg for seg, m in zip(segments, masked, strict=True)]
    else:  # an apprise service: its plugin says which of the URL's parts are tokens
        private = _apprise_private_values(url)
        secrets += private if private is not None else [unquote(hostport), *map(unquote, segments)]
        secrets = [s for s in secrets if s]

        def hidden(part: str) -> bool:
            part = unquote(part)
            if not part:
                return False
            if private is None:
                return True  # a scheme apprise does not know: mask everything (fail closed)
            return any(part == s or (len(s) >= 4 and s in part) for s in private)

        netloc = (f"{MASK}@" if at else "") + (MASK if hidden(hostport) else hostport)
        segments = [MASK if hidden(seg) else seg for seg in segments]
    shown = parts.scheme + ":" + ("//" + netloc if url[len(parts.scheme) + 1:].startswith("//") else "")
    shown += "/".join(segments) + (f"?{query}" if query else "")
    shown += f"#{parts.fragment}" if parts.fragment else ""
    return shown, tuple(dict.fromkeys(s for s in secrets if s))


def _mask_query(query: str) -> tuple[str, list[str]]:
    """Every query value masked (apprise takes tokens, passwords and ``-Header=value`` there)."""
    shown, secrets = [], []
    for kv in query.split("&"):
        if not kv:
            continue
        key, sep, value = kv.partition("=")
        shown.append(f"{key}={MASK}" if sep else kv)
        if value:
            secrets.append(unquote_plus(value))
            secrets.append(value)
    return "&".join(shown), secrets


def _apprise_private_values(url: str) -> list[str] | None:
    """The values of the tokens apprise's plugin for this scheme marks ``private`` (webhook ids
    and tokens, API keys, passwords, secrets), parsed by the plugin itself; None when apprise has
    no plugin for the scheme or cannot parse the URL."""
    logger = logging.getLogger("apprise")
    was_disabled, logger.disabled = logger.disabled, True
    try:
        with warnings.catch_warnings():  # apprise's plugins import the deprecated imghdr
            warnings.simplefilter("ignore", DeprecationWarning)
            from apprise.manager_plugins import NotificationManager

            manager = NotificationManager()  # type: ignore[no-untyped-call]
            scheme = urlsplit(url).scheme.lower()
            if scheme not in manager:
                return None
            plugin: Any = manager[scheme]
            results = plugin.parse_url(url)
    except Exception:  # a plugin's parser failing means "unknown": mask everything
        return None
    finally:
        logger.disabled = was_disabled
    if not isinstance(results, dict):
        return None
    keys = {k for k, spec in plugin.template_tokens.items() if spec.get("private")}
    keys |= {spec.get("alias_of") or k for k, spec in plugin.template_args.items()
             if spec.get("private") or spec.get("alias_of") in keys}
    keys |= {"password"}
    values: list[str] = []
    for key in keys:
        value = results.get(key)
        items = value if isinstance(value, list | tuple | set) else [value]
        values += [str(v) for v in items if isinstance(v, str | int) and str(v)]
    for value in list(values):
        values += [p for p in re.split(r"[:/@]", value) if len(p) >= 4 and p != value]
    return values


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    """Every header value masked except the harmless ones of ``SAFE_HEADERS``: a custom header
    (``X-Custom``) is as likely to carry a key as ``Authorization``."""
    return {k: (v if k.lower() in SAFE_HEADERS else MASK) for k, v in headers.items()}


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
