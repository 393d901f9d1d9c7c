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

from podsleuth.cli.options import chosen_lang, lang_option, output_option
from podsleuth.lab.seed import LabError

WORDS = {
    "en": {
        "title": "incident {id}: {category} {reason} - pod {ns}/{pod} on node {node} (signature {sig}), "
                 "diagnosed in {took:.2f}s",
        "others": "other incidents of this run:", "node": "node {node}",
        "runc": "runc {version} says:", "oom": "OOM kill: pid {pid} ({comm}) in {cgroup} at {time}",
        "kept": "state kept under {dir}; press Enter (or Ctrl-C) to clean up",
    },
    "zh": {
        "title": "事件 {id}：{category} {reason}，节点 {node} 上的 Pod {ns}/{pod}（特征 {sig}），"
                 "诊断用时 {took:.2f} 秒",
        "others": "本次运行的其他事件：", "node": "节点 {node}",
        "runc": "runc {version} 报错：", "oom": "OOM kill：{time} 在 {cgroup} 中杀死 pid {pid}（{comm}）",
        "kept": "现场保留在 {dir}；按回车（或 Ctrl-C）清理",
    },
}  # fmt: skip
"""The report's own words per language; the diagnosis brings its translations."""
UNDIAGNOSED = {"zh": "运行结束前尚未诊断"}
"""Said of another incident of the run whose diagnosis had not come yet (other languages)."""


@click.group(name="lab")
def group() -> None:
    """Reproduce real failures on this machine (root, Linux) and run podsleuth on them."""


def run_pipeline(seeded: Any, output: str, lang: str = "en") -> dict[str, Any]:
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
        words = WORDS[lang]
        title = words["title"].format(
            id=inc.id, category=inc.category, reason=inc.reason, ns=inc.namespace, pod=inc.pod,
            node=inc.node, sig=inc.signature, took=time.monotonic() - t0,
        )  # fmt: skip
        click.echo("\n" + render_diagnosis(diagnosis.to_dict(), title=title, lang=lang))
        others = _other_incidents(run.changes, inc.id)
        if others:
            click.echo("\n" + words["others"])
            for other in others:
                node = words["node"].format(node=other.node)
                where = f"{other.namespace}/{other.pod}" if other.pod else node
                said = _said(other, lang)[:160]
                click.echo(f"  {other.id}  {other.category} {other.reason}  {where}: {said}")
    return {"diagnosis": diagnosis.to_dict()}


def _said(incident: Any, lang: str) -> str:
    """What to say of another incident: in English its message; in another language its
    diagnosis's summary in that language (the message is the cluster's English), else the message."""
    from podsleuth.diagnose.diagnosis import as_diagnosis

    if lang == "en":
        return str(incident.message)
    diagnosis = as_diagnosis(incident.diagnosis)
    texts = None if diagnosis is None else diagnosis.translations.get(lang)
    # the run can end before this incident's diagnosis: say so rather than switch to English
    if texts is not None and texts.summary:
        return texts.summary
    return UNDIAGNOSED.get(lang, str(incident.message))


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
@lang_option
def seed_incident(keep: bool, variant: str, output: str, lang: str | None) -> None:
    """Reproduce the founding incident with real mounts, a kernel OOM kill and runc; then clean up."""
    from podsleuth.lab.seed import seeded_incident

    language = chosen_lang(lang)
    words = WORDS[language]
    t0 = time.monotonic()

    def progress(msg: str) -> None:
        if output == "text":
            click.echo(f"[{time.monotonic() - t0:5.2f}s] {msg}")
        else:
            click.echo(msg, err=True)

    with seeded_incident(variant="restart" if variant == "restart" else "deleted", progress=progress,
                         lang=language) as s:
        if output == "text":
            click.echo("\n" + words["runc"].format(version=s.runc_version) + f"\n  {s.runtime_error}")
            kill = s.oom_kill
            click.echo(words["oom"].format(
                pid=kill.get("pid"), comm=kill.get("comm"), cgroup=kill.get("cgroup"), time=kill.get("time")))
        run_pipeline(s, output, language)
        if keep:
            click.echo(words["kept"].format(dir=s.workdir), err=True)
            with contextlib.suppress(EOFError, KeyboardInterrupt):
                input()
