"""Checks of a config that go beyond types, run by ``parse_settings`` for every command.

``watch``, ``config show`` and ``manifests --config`` all load the config through
``parse_settings``, so they accept and refuse the same files: a route pattern that does not
compile, a receiver URL that cannot be sent to, credentials given twice, a route naming a receiver
that does not exist or a key given twice fail on the laptop with ``file:line``, not at the first
incident in a crash-looping pod.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml

from podsleuth.errors import ConfigError

Where = Callable[[tuple[Any, ...]], str]

# The fields of a route ``match`` that take patterns (globs, or ``~regex``).
_MATCH_FIELDS = ("namespace", "category", "severity", "node", "signature")
_WEB_SCHEMES = ("http", "https")
_STORE_SCHEMES = ("sqlite", "postgresql", "postgres")


def check_duplicate_keys(node: yaml.Node | None, source: str) -> None:
    """PyYAML keeps the last of two equal keys silently; refuse them, naming both lines."""
    stack = [node]
    visited: set[int] = set()  # aliases share nodes; visit each once (no billion-laughs walk)
    while stack:
        current = stack.pop()
        if id(current) in visited:
            continue
        visited.add(id(current))
        if isinstance(current, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in current.value:
                key = str(key_node.value)
                line = key_node.start_mark.line + 1
                if isinstance(key_node, yaml.ScalarNode) and key in seen:
                    raise ConfigError(
                        f"{source}:{line}: duplicate key {key!r} (first given on line {seen[key]})"
                    )
                seen[key] = line
                stack.append(value_node)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)


def pattern_error(value: str) -> str | None:
    """Why a match value (glob, or ``~regex``) cannot be used, or None."""
    if not value.startswith("~"):
        return None
    try:
        re.compile(value[1:])
    except (re.error, RecursionError, OverflowError) as e:
        return f"invalid regular expression {value!r}: {e}"
    return None


def web_url_error(url: str, *, what: str) -> str | None:
    """Why ``url`` is not a usable http(s) URL, or None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as e:
        return f"{what} is not a valid URL: {e}"
    if parts.scheme.lower() not in _WEB_SCHEMES:
        return f"{what} must be http:// or https://, got scheme {parts.scheme or '(none)'!r}"
    if not parts.hostname:
        return f"{what} has no host"
    if any(c.isspace() for c in url):
        return f"{what} contains white space"
    return None


def check_settings(data: dict[str, Any], where: Where) -> None:
    """Raise ConfigError for the first problem in a validated ``Settings`` dump (by alias)."""
    for message, loc in _problems(data):
        key = ".".join(str(p) for p in loc)
        raise ConfigError(f"{where(loc)}: {key}: {message}")


def _problems(data: dict[str, Any]) -> Iterator[tuple[str, tuple[Any, ...]]]:
    alerts = data.get("alerts") or {}
    names: dict[str, int] = {}
    for i, receiver in enumerate(alerts.get("receivers") or []):
        loc: tuple[Any, ...] = ("alerts", "receivers", i)
        name = receiver["name"]
        if name in names:
            yield f"receiver name {name!r} given twice (also receivers.{names[name]})", (*loc, "name")
        names.setdefault(name, i)
        yield from _receiver_problems(receiver, loc)
    for i, route in enumerate(alerts.get("routes") or []):
        loc = ("alerts", "routes", i)
        match = route.get("match") or {}
        for field in _MATCH_FIELDS:
            value = match.get(field)
            values = [value] if isinstance(value, str) else list(value or [])
            for j, v in enumerate(values):
                error = pattern_error(v)
                if error:
                    yield (
                        error,
                        (*loc, "match", field) if isinstance(value, str) else (*loc, "match", field, j),
                    )
        for label, v in (match.get("labels") or {}).items():
            error = pattern_error(v)
            if error:
                yield error, (*loc, "match", "labels", label)
        for j, name in enumerate(route.get("receivers") or []):
            if name not in names:
                known = ", ".join(sorted(names)) or "none declared"
                yield f"unknown receiver {name!r} (receivers: {known})", (*loc, "receivers", j)
    store = data.get("store")
    if isinstance(store, str) and "://" in store:
        scheme = store.split("://", 1)[0].lower()
        if scheme not in _STORE_SCHEMES:
            yield f"unsupported store scheme {scheme!r}; use sqlite:/// or postgresql://", ("store",)
    agents = data.get("node_agents") or {}
    for node, url in (agents.get("urls") or {}).items():
        error = web_url_error(url, what="node agent URL")
        if error:
            yield error, ("node_agents", "urls", node)


def _receiver_problems(
    receiver: dict[str, Any], loc: tuple[Any, ...]
) -> Iterator[tuple[str, tuple[Any, ...]]]:
    webhook = receiver.get("webhook")
    if webhook:
        error = web_url_error(webhook["url"], what="webhook URL")
        if error:
            yield error, (*loc, "webhook", "url")
        elif _has_userinfo(webhook["url"]) and any(h.lower() == "authorization" for h in webhook["headers"]):
            yield (
                "credentials given twice: user:password in the URL and an Authorization header; keep one",
                (*loc, "webhook", "headers"),
            )
    manager = receiver.get("alertmanager")
    if manager:
        error = web_url_error(manager["url"], what="alertmanager URL")
        if error:
            yield error, (*loc, "alertmanager", "url")
    for j, url in enumerate(receiver.get("apprise") or []):
        error = apprise_url_error(url)
        if error:
            yield error, (*loc, "apprise", j)


def _has_userinfo(url: str) -> bool:
    parts = urlsplit(url)
    return parts.username is not None or parts.password is not None


def apprise_url_error(url: str) -> str | None:
    """Why apprise cannot send to ``url`` (unknown scheme, unparsable), or None."""
    try:
        parts = urlsplit(url)
    except ValueError as e:
        return f"apprise URL is not a valid URL: {e}"
    if not parts.scheme:
        return "apprise URL has no scheme (like slack:// or dingtalk://)"
    headers = [k[1:].lower() for k, _ in parse_qsl(parts.query) if k[:1] in "-+"]
    if (
        _has_userinfo(url)
        and "authorization" in headers
        and parts.scheme.lower().rstrip("s") in ("json", "xml", "form")
    ):
        return "credentials given twice: user:password in the URL and an Authorization header; keep one"
    logger = logging.getLogger("apprise")
    was_disabled, logger.disabled = logger.disabled, True  # its warnings would add stderr lines
    try:
        with warnings.catch_warnings():  # apprise's plugins import the deprecated imghdr
            warnings.simplefilter("ignore", DeprecationWarning)
            import apprise  # only configs with apprise receivers pay for importing it

            usable = apprise.Apprise.instantiate(url) is not None
    finally:
        logger.disabled = was_disabled
    if not usable:
        from podsleuth.redact import redact

        return f"apprise cannot use {redact(url)} (unknown scheme or missing parts; see the apprise wiki)"
    return None
