"""Node-agent facts: what the node itself shows for the exact paths and time window.

The second half of the founding write-up, done by the agent: is the pod's volume mount alive
(probe errno), what does mountinfo say (source, ``//deleted`` root, FUSE connection), which
daemon serves it now and since when, and did the kernel OOM-kill something - the daemon, or
anything in the CSI plugin's pod - before the failure. Other pods on the node with the same
broken mount join the incident's group.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from podsleuth.config import NodeAgentSettings
from podsleuth.diagnose import node_agent
from podsleuth.diagnose.evidence import Case
from podsleuth.diagnose.phrases import Phrase, phrase
from podsleuth.kube import KubeClient
from podsleuth.node.findings import Finding

MIN_WINDOW = 3600.0
"""Kernel events this far back at least: a daemon OOM-killed an hour ago still explains a pod
that only now restarts its container."""
BROKEN = {
    "mount-disconnected": "mount_disconnected",
    "mount-source-deleted": "mount_source_deleted",
    "fuse-daemon-restarted": "fuse_daemon_restarted",
    "fuse-daemon-missing": "fuse_daemon_missing",
    "mount-hung": "mount_hung",
    "mount-stale-handle": "mount_stale_handle",
    "mount-io-error": "mount_io_error",
    "mount-stacked": "mount_stacked",
    "mount-bind-failed": "mount_bind_failed",
}
ROOT_KINDS = frozenset(
    {
        "mount-disconnected",
        "mount-source-deleted",
        "fuse-daemon-restarted",
        "fuse-daemon-missing",
        "mount-hung",
        "mount-stale-handle",
        "mount-io-error",
    }
)


def _iso(epoch: object) -> str | None:
    if not isinstance(epoch, int | float):
        return None
    return datetime.fromtimestamp(float(epoch), UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


async def collect(case: Case, *, client: KubeClient | None, settings: NodeAgentSettings) -> None:
    node = case.facts.get("node")
    if not isinstance(node, str) or not node:
        case.gap("node-agent", phrase("agent.no-node"))
        return
    uid = case.facts.get("pod_uid")
    first = case.subject.first_seen
    since = max(MIN_WINDOW, time.time() - first.timestamp() + 600.0) if first else MIN_WINDOW
    root = case.facts.get("kubelet_root")
    try:
        report = await node_agent.ask(
            client,
            settings,
            node=node,
            pod_uid=uid if isinstance(uid, str) else None,
            kubelet_dir=root if isinstance(root, str) else None,
            since=since,
        )
    except node_agent.AgentUnavailable as e:
        case.facts["agent"] = "unavailable"
        case.gap("node-agent", phrase("agent.unavailable", node=node, reason=e.said), {"node": node})
        return
    case.facts["agent"] = "ok"
    interpret(case, report)


def _matches_volume(f: Finding, volume: object) -> bool:
    return not isinstance(volume, str) or f.volume in (None, volume) or volume in (f.path or "")


def interpret(case: Case, report: node_agent.AgentReport) -> None:
    uid, volume = case.facts.get("pod_uid"), case.facts.get("volume")
    mine = [f for f in report.findings if f.pod_uid == uid and uid and _matches_volume(f, volume)]
    kinds = sorted({f.kind for f in mine})
    case.add(
        f"node-agent:{report.source}",
        phrase("agent.findings", count=len(mine), kinds=kinds) if kinds else phrase("agent.no-findings"),
        {"findings": [f.to_dict() for f in mine]},
        **{BROKEN[k]: True for k in kinds if k in BROKEN},
        agent_findings=kinds,
    )
    _mount(case, report.mounts, volume)
    restarted = next((f for f in mine if f.kind == "fuse-daemon-restarted"), None)
    if restarted is not None:
        proc = restarted.process or {}
        started = _iso(proc.get("start_time") or restarted.data.get("daemon_start"))
        case.add(
            "node-agent:fuse",
            phrase(
                "fuse.restarted",
                fs_type=restarted.data.get("fs_type"),
                pid=proc.get("pid"),
                comm=proc.get("comm"),
                started=started,
                mount_point=restarted.data.get("new_mount_point"),
                connection=restarted.data.get("connection"),
            ),
            {"process": proc, **restarted.data},
            daemon_pid=proc.get("pid"),
            daemon_comm=proc.get("comm"),
            daemon_started=started,
            fuse_connection=restarted.data.get("connection"),
            staging_path=restarted.data.get("new_mount_point"),
            daemon_nonempty=any("nonempty" in str(a) for a in proc.get("cmdline") or []),
            fs_type=restarted.data.get("fs_type"),
        )
    _oom(case, report.findings, mine)
    _others(case, report.findings, mine)


def _mount(case: Case, mounts: list[dict[str, Any]], volume: object) -> None:
    recs = [m for m in mounts if not isinstance(volume, str) or volume in str(m.get("path"))]
    if not recs:
        return
    m = recs[0]
    probe = m.get("probe") or {}
    daemons = m.get("fuse_daemons") or []
    case.add(
        "node-agent:mountinfo",
        phrase(
            "mountinfo.record",
            path=m.get("path"),
            fs_type=m.get("fs_type"),
            source=m.get("source"),
            deleted=phrase("mountinfo.root-deleted") if m.get("root_deleted") else "",
            connection=m.get("fuse_connection"),
            daemons=len(daemons),
            status=probe.get("status"),
            errno=phrase("mountinfo.errno", errno=probe["errno"]) if probe.get("errno") else "",
        ),
        {
            k: m.get(k)
            for k in (
                "path",
                "source",
                "fs_type",
                "root",
                "root_deleted",
                "fuse_connection",
                "fuse_daemons",
                "probe",
                "layers",
            )
        },
        mount_fs_type=m.get("fs_type"),
        mount_probe_errno=probe.get("errno"),
        volume_mount_path=m.get("path"),
        mount_root_deleted=bool(m.get("root_deleted")),
    )


def _oom(case: Case, findings: list[Finding], mine: list[Finding]) -> None:
    """OOM kills before the failure that explain it: the daemon's own (linked by the agent), one
    in the CSI plugin pod's cgroup, or - for an OOM incident - one in the pod's own cgroup."""
    kills = [f for f in findings if f.kind == "oom-kill"]
    linked = [f.data["oom_kill"] for f in mine if isinstance(f.data.get("oom_kill"), dict)]
    plugin_uid, uid = case.facts.get("plugin_pod_uid"), case.facts.get("pod_uid")
    comm = case.facts.get("daemon_comm")
    related = [
        f
        for f in kills
        if (plugin_uid and f.pod_uid == plugin_uid) or (comm and (f.process or {}).get("comm") == comm)
    ]
    pod_kills = [f for f in kills if uid and f.pod_uid == uid]
    if pod_kills:
        scopes = sorted(
            {str(f.data.get("constraint") or f.data.get("scope") or "") for f in pod_kills} - {""}
        )
        case.add(
            "node-agent:kernel",
            phrase("oom.pod-kills", count=len(pod_kills), scopes=scopes or phrase("oom.scope-unknown")),
            {"kills": [f.to_dict() for f in pod_kills]},
            pod_oom_kills=len(pod_kills),
            oom_scope=scopes[0] if scopes else None,
        )
    if not related and not linked:
        if kills:
            case.facts["node_oom_kills"] = len(kills)
        return
    kill = related[-1] if related else None
    data = kill.data if kill is not None else dict(linked[-1].get("data") or {}, time=linked[-1].get("time"))
    pid = (kill.process or {}).get("pid") if kill is not None else data.get("pid")
    victim = (kill.process or {}).get("comm") if kill is not None else data.get("comm")
    when = _iso(data.get("time"))
    last = case.subject.last_seen
    t = data.get("time")
    before: Phrase | str = (
        phrase("oom.before-failure")
        if last is None or not isinstance(t, int | float) or t <= last.timestamp() + 60
        else ""
    )
    case.add(
        "node-agent:kernel",
        phrase("oom.kill", pid=pid, comm=victim, cgroup=data.get("cgroup"), time=when, before=before),
        {"pid": pid, "comm": victim, **data},
        daemon_oom_killed=True,
        oom_pid=pid,
        oom_comm=victim,
        oom_time=when,
        oom_cgroup=data.get("cgroup"),
    )


def _others(case: Case, findings: list[Finding], mine: list[Finding]) -> None:
    """Pods on the node whose mounts are broken the same way (same dead connection or daemon)."""
    keys = {(f.kind, f.data.get("connection") or f.data.get("source")) for f in mine if f.kind in ROOT_KINDS}
    if not keys:
        return
    for f in findings:
        if (
            f.pod_uid
            and f.pod_uid != case.facts.get("pod_uid")
            and (f.kind, f.data.get("connection") or f.data.get("source")) in keys
        ):
            name = case.names.get(f.pod_uid)
            ns, _, pod = name.partition("/") if name else ("", "", f"uid:{f.pod_uid}")
            case.affect(ns, pod, uid=f.pod_uid, volume=f.volume, confirmed_by="node-agent")
