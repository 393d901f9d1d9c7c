"""Label and field selectors as the kube-apiserver parses them (the subset tests need).

Label selectors: ``k=v``, ``k==v``, ``k!=v``, ``k``, ``!k``, ``k in (a,b)``, ``k notin (a,b)``.
Field selectors: ``f=v``, ``f==v``, ``f!=v`` over the flattened field paths the real server
indexes (``metadata.name``, ``spec.nodeName``, ``involvedObject.uid``, ...).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

Matcher = Callable[[Mapping[str, str]], bool]

_SET_RE = re.compile(r"^\s*([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside ``( )`` of a set term."""
    terms: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    terms.append("".join(cur))
    return [t.strip() for t in terms if t.strip()]


def _term(term: str, *, allow_sets: bool) -> Matcher:
    m = _SET_RE.match(term) if allow_sets else None
    if m:
        key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",")}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if "!=" in term:
        key, value = (p.strip() for p in term.split("!=", 1))
        return lambda labels: labels.get(key) != value
    if "==" in term or "=" in term:
        key, value = (p.strip() for p in re.split("==?", term, maxsplit=1))
        return lambda labels: labels.get(key) == value
    if not allow_sets:
        raise ValueError(f"invalid field selector term {term!r}")
    if term.startswith("!"):
        key = term[1:].strip()
        return lambda labels: key not in labels
    return lambda labels: term in labels


def parse_selector(text: str | None, *, fields: bool = False) -> Matcher | None:
    """``None`` for an empty selector (matches everything); raises ValueError when invalid."""
    if not text:
        return None
    matchers = [_term(t, allow_sets=not fields) for t in _split_terms(text)]
    return lambda values: all(m(values) for m in matchers)


def field_values(obj: Mapping[str, object]) -> dict[str, str]:
    """The field paths a field selector may name, flattened from one object."""
    out: dict[str, str] = {}
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        out["metadata.name"] = str(meta.get("name", ""))
        out["metadata.namespace"] = str(meta.get("namespace", ""))
    ref = ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
    for section, keys in (
        ("spec", ("nodeName", "schedulerName", "serviceAccountName", "unschedulable")),
        ("status", ("phase", "podIP", "nominatedNodeName")),
        ("involvedObject", ref),
        ("regarding", ref),
    ):
        part = obj.get(section)
        if isinstance(part, dict):
            for key in keys:
                if key in part:
                    value = part[key]
                    out[f"{section}.{key}"] = str(value).lower() if isinstance(value, bool) else str(value)
    for key in ("reason", "type", "reportingComponent", "reportingController", "source"):
        value = obj.get(key)
        if isinstance(value, str):
            out[key] = value
    return out
