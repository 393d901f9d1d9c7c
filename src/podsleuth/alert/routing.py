"""Routing: which receivers an incident goes to, from the ``alerts.routes`` config.

Routes are tried in order; the first match wins unless it says ``continue: true``. A route
without ``match`` matches everything (the catch-all). With no routes at all every receiver gets
every incident; when routes exist and none matches, a receiver named ``default`` (if declared)
gets it, so a typo in a route loses nothing silently.

Values are globs (``shop*``); a value starting with ``~`` is a regular expression that must
match the whole field (``~shop-(eu|us)``); a list means any of them.
"""

from __future__ import annotations

import fnmatch
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from podsleuth.alert.model import IncidentPayload, field_values
from podsleuth.config import AlertSettings, RouteMatch
from podsleuth.errors import ConfigError

log = logging.getLogger(__name__)


_NEVER = re.compile(r"(?!)")


@lru_cache(maxsize=1024)
def _pattern(value: str) -> re.Pattern[str]:
    """The compiled pattern; one that does not compile matches nothing (and is logged once):
    config patterns are checked at load (``config_checks``), but silences come from the store,
    and a bad stored row must not crash routing of every incident."""
    if value.startswith("~"):
        try:
            return re.compile(value[1:])
        except (re.error, RecursionError, OverflowError) as e:
            log.warning("pattern %r does not compile (%s); it matches nothing", value[:200], e)
            return _NEVER
    return re.compile(fnmatch.translate(value))


def value_matches(pattern: str | Sequence[str], value: str) -> bool:
    patterns = [pattern] if isinstance(pattern, str) else list(pattern)
    return any(_pattern(p).fullmatch(value) is not None for p in patterns)


def matchers_match(matchers: Mapping[str, str | Sequence[str]], fields: Mapping[str, str]) -> bool:
    """Every matcher must match its field; an absent field is the empty string."""
    return all(value_matches(p, fields.get(key, "")) for key, p in matchers.items())


def route_matchers(match: RouteMatch) -> dict[str, str | list[str]]:
    out: dict[str, str | list[str]] = {}
    for key in ("namespace", "category", "severity", "node", "signature"):
        value = getattr(match, key)
        if value is not None:
            out[key] = value
    for key, value in match.labels.items():
        out[f"label.{key}"] = value
    return out


@dataclass(frozen=True, slots=True)
class CompiledRoute:
    matchers: dict[str, str | list[str]]
    receivers: tuple[str, ...]
    continue_: bool


class Router:
    """Compiled routes; ``receivers_for`` is pure and cheap (called on every submit)."""

    def __init__(self, settings: AlertSettings) -> None:
        self.receiver_names = tuple(r.name for r in settings.receivers)
        self.routes = tuple(
            CompiledRoute(route_matchers(r.match), tuple(r.receivers), r.continue_) for r in settings.routes
        )
        known = set(self.receiver_names)
        for route in self.routes:
            for name in route.receivers:
                if name not in known:
                    raise ConfigError(f"alerts.routes names unknown receiver {name!r}")

    def receivers_for(self, incident: IncidentPayload) -> list[str]:
        if not self.routes:
            return list(self.receiver_names)
        fields = field_values(incident)
        chosen: list[str] = []
        for route in self.routes:
            if matchers_match(route.matchers, fields):
                chosen += [r for r in route.receivers if r not in chosen]
                if not route.continue_:
                    break
        if not chosen and "default" in self.receiver_names:
            chosen.append("default")
        return chosen
