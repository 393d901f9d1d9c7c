"""``podsleuth lab seed-incident``: the founding incident, reproduced on this machine for real.

Its point is trust: the same node agent that runs on a cluster is shown a genuinely broken pod
volume (kernel OOM kill, restarted FUSE daemon, runc's own error) and has to find it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from typing import Any

import click

from podsleuth.cli.options import output_option


@click.group(name="lab")
def group() -> None:
    """Reproduce real failures on this machine (root, Linux) and run podsleuth on them."""


def run_pipeline(seeded: Any, output: str) -> dict[str, Any]:
    """Hook for the full pipeline (fake API server + watch + node agent); for now: the node check.

    Returns what it found so callers (and the JSON output) can carry it.
    """
    from podsleuth.node.check import CheckOptions, check_node

    since = time.time() - seeded.started + 30.0
    report = check_node(CheckOptions(kubelet_dirs=(seeded.kubelet_dir,), mount_pid="self", since=since))
    findings = report.for_pod(seeded.pod_uid)
    if output == "text":
        click.echo(f"\nnode agent findings for pod {seeded.namespace}/{seeded.pod_name} ({seeded.pod_uid}):")
        for f in findings:
            click.echo(f"  [{f.severity}] {f.kind}: {f.detail}")
        ooms = [
            f
            for f in report.findings
            if f.kind == "oom-kill" and f.process and f.process.get("pid") == seeded.old_daemon_pid
        ]
        for f in ooms:
            click.echo(f"  [{f.severity}] {f.kind}: {f.detail}")
    return {"node_findings": [f.to_dict() for f in findings]}


@group.command("seed-incident")
@click.option("--keep", is_flag=True, help="leave everything in place until Enter or Ctrl-C, then clean up.")
@click.option(
    "--variant",
    type=click.Choice(["restart", "deleted"]),
    default="restart",
    show_default=True,
    help="restart: pod bind left on the dead FUSE connection; deleted: its source dir was "
    "also removed first (//deleted root).",
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

    with seeded_incident(variant="deleted" if variant == "deleted" else "restart", progress=progress) as s:
        if output == "text":
            click.echo(f"\nrunc {s.runc_version} says:\n  {s.runtime_error}")
            click.echo(
                f"OOM kill: pid {s.oom_kill.get('pid')} ({s.oom_kill.get('comm')}) "
                f"in {s.oom_kill.get('cgroup')} at {s.oom_kill.get('time')}"
            )
        result = run_pipeline(s, output)
        if output == "json":
            click.echo(json.dumps({**dataclasses.asdict(s), **result}, default=str))
        if keep:
            click.echo(f"state kept under {s.workdir}; press Enter (or Ctrl-C) to clean up", err=True)
            with contextlib.suppress(EOFError, KeyboardInterrupt):
                input()
