"""``podsleuth lab seed-incident``: the founding incident, reproduced on this machine for real.

Its point is trust: the same watch pipeline, diagnoser and node agent that run on a cluster are
shown a genuinely broken pod volume (kernel OOM kill, restarted FUSE daemon, runc's own error)
and have to find the cause and say what to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import click

from podsleuth.cli.options import output_option
from podsleuth.lab.seed import LabError


@click.group(name="lab")
def group() -> None:
    """Reproduce real failures on this machine (root, Linux) and run podsleuth on them."""


def run_pipeline(seeded: Any, output: str) -> dict[str, Any]:
    """The full pipeline on the seeded incident: fake API server + watch + node agent.

    json: the incident change lines exactly as ``watch --output json`` prints them; text: the
    final incident with its evidence chain. Returns the final diagnosis for callers.
    """
    from podsleuth.detect import IncidentChange
    from podsleuth.diagnose.diagnosis import as_diagnosis
    from podsleuth.diagnose.report import render_diagnosis
    from podsleuth.lab.pipeline import run_lab

    async def emit(change: IncidentChange) -> None:
        if output == "json":
            click.echo(json.dumps(change.to_contract(), ensure_ascii=False, default=str))
        else:  # every incident: the CSI plugin's OOM kill is part of the story
            click.echo(f"[watch] {change.kind} {change.incident.category} "
                       f"{change.incident.namespace}/{change.incident.pod}", err=False)

    t0 = time.monotonic()
    run = asyncio.run(run_lab(seeded, emit=emit))
    final = run.final()
    diagnosis = None if final is None else as_diagnosis(final.incident.diagnosis)
    if final is None or diagnosis is None:
        raise LabError("the watch pipeline raised no diagnosed incident for the seeded pod")
    inc = final.incident
    if output == "text":
        title = (f"incident {inc.id}: {inc.category} {inc.reason} - pod {inc.namespace}/{inc.pod} on node "
                 f"{inc.node} (signature {inc.signature}), diagnosed in {time.monotonic() - t0:.2f}s")
        click.echo("\n" + render_diagnosis(diagnosis.to_dict(), title=title))
        others = _other_incidents(run.changes, inc.id)
        if others:
            click.echo("\nother incidents of this run:")
            for other in others:
                where = f"{other.namespace}/{other.pod}" if other.pod else f"node {other.node}"
                click.echo(f"  {other.id}  {other.category} {other.reason}  {where}: {other.message[:160]}")
    return {"diagnosis": diagnosis.to_dict()}


def _other_incidents(changes: list[Any], final_id: str) -> list[Any]:
    """The latest state of every incident of the run but the seeded pod's (the plugin's OOM kill)."""
    latest: dict[str, Any] = {}
    for change in changes:
        if change.incident.id != final_id:
            latest[change.incident.id] = change.incident
    return list(latest.values())


@group.command("seed-incident")
@click.option("--keep", is_flag=True, help="leave everything in place until Enter or Ctrl-C, then clean up.")
@click.option(
    "--variant",
    type=click.Choice(["restart", "deleted"]),
    default="deleted",
    show_default=True,
    help="deleted: the founding write-up's literal state (live daemon, //deleted bind root, runc "
    "'via /proc/self/fd' ENOENT); restart: pod bind left on the dead FUSE connection (ENOTCONN).",
)
@output_option
def seed_incident(keep: bool, variant: str, output: str) -> None:
    """Reproduce the founding incident with real mounts, a kernel OOM kill and runc; then clean up."""
    from podsleuth.lab.seed import seeded_incident

    t0 = time.monotonic()

    def progress(msg: str) -> None:
        if output == "text":
            click.echo(f"[{time.monotonic() - t0:5.2f}s] {msg}")
        else:
            click.echo(msg, err=True)

    with seeded_incident(variant="restart" if variant == "restart" else "deleted", progress=progress) as s:
        if output == "text":
            click.echo(f"\nrunc {s.runc_version} says:\n  {s.runtime_error}")
            click.echo(
                f"OOM kill: pid {s.oom_kill.get('pid')} ({s.oom_kill.get('comm')}) "
                f"in {s.oom_kill.get('cgroup')} at {s.oom_kill.get('time')}"
            )
        run_pipeline(s, output)
        if keep:
            click.echo(f"state kept under {s.workdir}; press Enter (or Ctrl-C) to clean up", err=True)
            with contextlib.suppress(EOFError, KeyboardInterrupt):
                input()
