"""``podsleuth silence add|list|expire``: mute matching incidents for a while, in the store.

Silences live in the same store the watcher reads, so muting works from any shell on the same
file (SQLite WAL allows the concurrent write) without talking to the running process. A watcher
elsewhere gets them through its console's API: ``--console URL`` directly, or ``--context NAME``
through the API server's service proxy (``console_client``).
"""

from __future__ import annotations

import getpass
import json
import math
import time
import uuid
from datetime import UTC, datetime

import click

from podsleuth.cli.options import output_option, store_option
from podsleuth.cli.store_access import run_on_store
from podsleuth.config_checks import pattern_error
from podsleuth.durations import format_duration, parse_duration
from podsleuth.errors import InputError
from podsleuth.store import Store
from podsleuth.store.base import Silence
from podsleuth.store.queries import MAX_SILENCE, SILENCE_FIELDS

MATCH_KEYS = SILENCE_FIELDS


def parse_matchers(items: tuple[str, ...]) -> dict[str, str]:
    """``key=value`` pairs; a key given twice is refused rather than silently keeping the last
    (for any-of, one pattern does it: ``namespace=~(a|b)``)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key or not value:
            raise InputError(f"--match {item!r}: expected key=value, e.g. namespace=shop*")
        if key not in MATCH_KEYS and not key.startswith("label."):
            raise InputError(
                f"--match {item!r}: unknown key {key!r}; use one of "
                f"{', '.join(sorted(MATCH_KEYS))} or label.NAME"
            )
        if key in out:
            raise InputError(
                f"--match {key}= given twice ({out[key]!r} and {value!r}); a silence needs every key "
                f"to match, so use one pattern for any-of, e.g. {key}=~({out[key]}|{value})"
            )
        error = pattern_error(value)
        if error:
            raise InputError(f"--match {item!r}: {error}")
        out[key] = value
    if not out:
        raise InputError("give at least one --match key=value")
    return out


def _ts(t: float) -> str:
    """RFC 3339; a stored time out of range (a row written before the bounds) shows as such
    rather than breaking ``silence list`` for every silence."""
    try:
        return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return "(out of range)"


def _left(s: Silence, now: float) -> str:
    if s.ends_at <= now:
        return "expired"
    try:
        return f"{format_duration(s.ends_at - now)} left"
    except (OverflowError, ValueError):
        return "(out of range)"


@click.group(name="silence")
def group() -> None:
    """Mute incidents matching key=value globs for a while (stored, survives restarts)."""


@group.command()
@click.option(
    "--match",
    "matches",
    multiple=True,
    required=True,
    metavar="KEY=VALUE",
    help="Field glob to match (namespace, pod, node, category, severity, label.NAME, ...); repeatable.",
)
@click.option("--for", "duration", required=True, help="How long, e.g. 30m, 2h, 1d.")
@click.option("--comment", default="", help="Why; shown by `silence list`.")
@click.option(
    "--console",
    "console_url",
    default=None,
    help="Add it through a console's API instead of a local store, e.g. the in-cluster watcher's "
    "(kubectl port-forward svc/podsleuth-watcher 8080:ui, then http://127.0.0.1:8080).",
)
@click.option(
    "--context",
    default=None,
    help="Add it in the watcher running in this kubeconfig context: through the API server's "
    "service proxy with your kube credentials (RBAC: create services/proxy), no port-forward.",
)
@click.option(
    "--kubeconfig",
    type=click.Path(dir_okay=False),
    default=None,
    help="With the cluster path: the kubeconfig (default: $KUBECONFIG, ~/.kube/config).",
)
@click.option(
    "--service",
    default=None,
    metavar="NS/NAME:PORT",
    help="With the cluster path: the watcher's Service and console port "
    "(default: podsleuth/podsleuth-watcher:ui, as `podsleuth manifests` renders it).",
)
@click.option(
    "--token-file",
    default=None,
    help="With --console or --context: the file with the console's write token "
    "(the watcher's --ui-token-file).",
)
@output_option
@store_option
def add(
    matches: tuple[str, ...],
    duration: str,
    comment: str,
    console_url: str | None,
    context: str | None,
    kubeconfig: str | None,
    service: str | None,
    token_file: str | None,
    output: str,
    store_url: str | None,
) -> None:
    """Add a silence: to the local store; through a console's API with --console URL; or in
    the in-cluster watcher with --context NAME (also --kubeconfig or --service), which goes
    through the API server's service proxy, so no port-forward is needed."""
    cluster = context is not None or kubeconfig is not None or service is not None
    if console_url is not None and cluster:
        raise click.UsageError("--console and --context/--kubeconfig/--service are two ways to reach a "
                               "console: give one")  # fmt: skip
    matchers = parse_matchers(matches)
    try:
        seconds = parse_duration(duration)
    except (ValueError, OverflowError) as e:
        raise InputError(f"--for: {e}") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise InputError("--for must be positive")
    if seconds > MAX_SILENCE:
        raise InputError(f"--for {duration}: at most 366d (one year); for a permanent rule use watch.ignore")
    now = time.time()
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    if cluster:
        from podsleuth.cli.console_client import DEFAULT_SERVICE, post_silence_via_cluster

        made = post_silence_via_cluster(
            kubeconfig=kubeconfig, context=context, service=service or DEFAULT_SERVICE, token_file=token_file,
            matchers=matchers, duration=duration, comment=comment, user=user,
        )  # fmt: skip
        silence = Silence(str(made["id"]), matchers, now, float(made["ends_at"]), comment, user, now)
    elif console_url is not None:
        from podsleuth.cli.console_client import post_silence

        made = post_silence(
            console_url, token_file, matchers=matchers, duration=duration, comment=comment, user=user
        )
        silence = Silence(str(made["id"]), matchers, now, float(made["ends_at"]), comment, user, now)
    else:
        silence = Silence(uuid.uuid4().hex[:12], matchers, now, now + seconds, comment, user, now)
        run_on_store(store_url, lambda s: s.add_silence(silence))
    if output == "json":
        click.echo(json.dumps(_as_json(silence, now)))
    else:
        click.echo(f"silence {silence.id} added until {_ts(silence.ends_at)}")


def _as_json(s: Silence, now: float) -> dict[str, object]:
    return {
        "id": s.id,
        "matchers": s.matchers,
        "starts_at": _ts(s.starts_at),
        "ends_at": _ts(s.ends_at),
        "active": s.starts_at <= now < s.ends_at,
        "comment": s.comment,
        "created_by": s.created_by,
    }


@group.command(name="list")
@click.option("--all", "include_expired", is_flag=True, help="Include expired silences.")
@output_option
@store_option
def list_(include_expired: bool, output: str, store_url: str | None) -> None:
    """List active silences."""
    now = time.time()
    silences = run_on_store(store_url, lambda s: s.silences(now=now, include_expired=include_expired))
    for s in silences:
        if output == "json":
            click.echo(json.dumps(_as_json(s, now)))
            continue
        left = _left(s, now)
        matchers = " ".join(f"{k}={v}" for k, v in s.matchers.items())
        click.echo(f"{s.id}  {matchers}  until {_ts(s.ends_at)} ({left})  by {s.created_by}  {s.comment}")
    if not silences and output == "text":
        click.echo("no silences")


@group.command()
@click.argument("silence_id")
@store_option
def expire(silence_id: str, store_url: str | None) -> None:
    """End a silence now (ID or a unique prefix of it)."""
    now = time.time()

    async def run(store: Store) -> str:
        found = [s for s in await store.silences(now=now) if s.id.startswith(silence_id)]
        if not found:
            raise InputError(f"no active silence with id {silence_id!r}")
        if len(found) > 1:
            raise InputError(f"silence id prefix {silence_id!r} is ambiguous ({len(found)} match)")
        await store.expire_silence(found[0].id, at=now)
        return found[0].id

    click.echo(f"silence {run_on_store(store_url, run)} expired")
