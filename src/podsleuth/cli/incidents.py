"""``podsleuth incidents list|show``: read the incidents the watcher stored.

Both read the same store ``watch`` writes (SQLite or PostgreSQL) through
``podsleuth.store.queries``; nothing here writes. A missing store is one line and exit 2 rather
than an empty, freshly created database that would hide a wrong ``--store``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from podsleuth.cli.options import chosen_lang, lang_option, output_option, store_option
from podsleuth.cli.store_access import check_sqlite_path, run_on_store
from podsleuth.cli.story_text import story_lines
from podsleuth.durations import parse_duration
from podsleuth.errors import InputError
from podsleuth.locale import localize
from podsleuth.store import Store, default_store_path, is_postgres, sqlite_path
from podsleuth.store.queries import STATES, IncidentFilter, find_incident, list_incidents, story, to_json

T = TypeVar("T")


def open_existing(store_url: str | None) -> Callable[[Callable[[Store], Awaitable[T]]], T]:
    """Run ``fn(store)`` on an existing store; a missing SQLite file is an input error."""
    check_sqlite_path(store_url)
    if not is_postgres(store_url):
        path = sqlite_path(store_url) if store_url else str(default_store_path())
        if path != ":memory:" and not Path(path).is_file():
            where = store_url or f"the default store {path}"
            raise InputError(f"no incident store at {where}: run `podsleuth watch` first or pass --store URL")

    def run(fn: Callable[[Store], Awaitable[T]]) -> T:
        return run_on_store(store_url, fn)

    return run


@click.group(name="incidents")
def group() -> None:
    """Query the incidents the watcher stored."""


@group.command(name="list")
@click.option("--state", type=click.Choice(STATES), default="open", show_default=True)
@click.option("-n", "--namespace", "namespaces", multiple=True, help="Namespace glob; repeatable.")
@click.option("--category", default="", help="Only this category (see the CONTRACT table).")
@click.option("--severity", type=click.Choice(["", "critical", "error", "warning"]), default="")
@click.option("--cluster", default="", help="Only incidents stamped with this cluster name.")
@click.option("--since", default=None, help="Only incidents updated in this window, e.g. 2h, 30m.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=200, show_default=True)
@store_option
@output_option
def list_command(
    state: str,
    namespaces: tuple[str, ...],
    category: str,
    severity: str,
    cluster: str,
    since: str | None,
    limit: int,
    store_url: str | None,
    output: str,
) -> None:
    """Incidents, open before resolved, most severe and newest first."""
    try:
        since_at = time.time() - parse_duration(since) if since else None
    except ValueError as e:
        raise InputError(f"--since {since!r}: {e}") from None
    wanted = IncidentFilter(
        state=state,
        namespaces=namespaces,
        category=category,
        severity=severity,
        cluster=cluster,
        since=since_at,
    )
    page = open_existing(store_url)(lambda store: list_incidents(store, wanted, limit=limit))
    if output == "json":
        for record in page.incidents:
            click.echo(to_json(record))
        return
    if not page.incidents:
        click.echo(f"no {'' if state == 'all' else state + ' '}incidents match")
        return
    click.echo(_table([_row(r.status, r.data) for r in page.incidents]))
    shown = len(page.incidents)
    more = f" (showing {shown}; --limit for more)" if page.total > shown else ""
    counts = ", ".join(f"{c} {n}" for c, n in page.by_category.items())
    click.echo(f"\n{page.total} incident(s){more}: {counts}")


def _row(status: str, data: dict[str, Any]) -> list[str]:
    where = (
        "/".join(str(x) for x in (data.get("namespace"), data.get("pod")) if x) or f"node/{data.get('node')}"
    )
    cause = (
        (data.get("diagnosis") or {}).get("root_cause") or data.get("signature") or data.get("reason") or ""
    )
    return [
        str(data.get("id")),
        status,
        str(data.get("severity")),
        str(data.get("category")),
        where,
        str(data.get("node") or "-"),
        str(data.get("count") or 1),
        str(data.get("last_seen") or ""),
        str(cause),
    ]


HEADER = ["ID", "STATE", "SEVERITY", "CATEGORY", "WHERE", "NODE", "COUNT", "LAST SEEN", "CAUSE"]


def _table(rows: list[list[str]]) -> str:
    cells = [HEADER, *rows]
    widths = [min(48, max(len(r[i]) for r in cells)) for i in range(len(HEADER) - 1)]
    lines = []
    for r in cells:
        parts = [_clip(v, w).ljust(w) for v, w in zip(r, widths, strict=False)]
        lines.append("  ".join([*parts, r[-1]]).rstrip())
    return "\n".join(lines)


def _clip(value: str, width: int) -> str:
    return value if len(value) <= width else value[: width - 1] + "…"


@group.command(name="show")
@click.argument("incident_id")
@store_option
@output_option
@lang_option
def show_command(incident_id: str, store_url: str | None, output: str, lang: str | None) -> None:
    """The whole story of one incident: cause, evidence, remediation, who was told."""
    language = chosen_lang(lang)

    async def load(store: Store) -> Any:
        record = await find_incident(store, incident_id)
        if record is None:
            raise InputError(
                f"no incident {incident_id!r} in the store (see `podsleuth incidents list --state all`)"
            )
        return await story(store, record, now=time.time())

    told = open_existing(store_url)(load)
    if output == "json":
        data = dict(told.record.data)
        data["diagnosis"] = localize(data.get("diagnosis"), language)
        data["state"] = told.record.status
        data["timeline"] = [{"at": at, "event": event} for at, event, _ in told.timeline]
        data["timeline_dropped"] = told.timeline_dropped
        data["notifications"] = [n._asdict() for n in told.notifications]
        data["silences"] = told.silences
        data["linked"] = [r.id for r in told.linked]
        click.echo(json.dumps(data, ensure_ascii=False, separators=(",", ":")))
        return
    click.echo("\n".join(story_lines(told, language)))
