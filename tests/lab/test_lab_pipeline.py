"""``lab seed-incident`` end to end: real kernel state, fake API server, the real watch pipeline and
the real node agent over HTTP; the diagnosis must find the cause the founding engineer found."""

from __future__ import annotations

import asyncio
import json
import time

from click.testing import CliRunner

from podsleuth.lab.pipeline import run_lab
from podsleuth.lab.seed import seeded_incident
from tests.lab.test_seed_incident import REAL


@REAL
def test_pipeline_finds_the_restarted_daemon_and_its_oom_kill() -> None:
    with seeded_incident(variant="restart") as s:
        t0 = time.monotonic()
        run = asyncio.run(run_lab(s, within=20))
        elapsed = time.monotonic() - t0
        offline = asyncio.run(run_lab(s, within=20, agent=False))
    final = run.final()
    assert final is not None and final.incident.diagnosis is not None, run.changes
    inc, d = final.incident, final.to_contract()["incident"]["diagnosis"]
    assert (inc.namespace, inc.pod, inc.node, inc.category) == (
        s.namespace,
        s.pod_name,
        s.node_name,
        "container-start",
    )
    assert d["root_cause"] == "stale-fuse-bind-after-daemon-restart"
    assert d["rule"] == "stale-fuse-bind-confirmed" and d["confidence"] >= 0.9
    kernel = [e for e in d["evidence"] if e["source"] == "node-agent:kernel"]
    assert kernel and kernel[0]["data"]["pid"] == s.old_daemon_pid, d["evidence"]
    fuse = next(e for e in d["evidence"] if e["source"] == "node-agent:fuse")
    assert fuse["data"]["process"]["pid"] == s.new_daemon_pid
    assert any(e["source"] == "api:csi-plugin" and "OOMKilled" in e["fact"] for e in d["evidence"])
    assert f"Delete pod {s.namespace}/{s.pod_name} on node {s.node_name}" in d["remediation"][0]
    assert any("memory limit" in r and "64Mi" in r for r in d["remediation"])
    assert any("nonempty" in r for r in d["remediation"])
    assert d["group"]["pods"] == [f"{s.namespace}/{s.pod_name}"] and d["group"]["volumes"] == [s.pv_name]
    # cause and victim linked: the pod points to the plugin's own OOM incident (docs/diagnosis.md)
    plugin = [c for c in run.changes if c.incident.pod and c.incident.pod.startswith("csi-cephfsplugin-")]
    assert plugin and d["caused_by"]["incident"] == plugin[-1].incident.id, d.get("caused_by")
    assert d["caused_by"]["subject"] == f"{plugin[-1].incident.namespace}/{plugin[-1].incident.pod}"
    cause = plugin[-1].to_contract()["incident"]["diagnosis"] or {}
    if "victims" in cause:  # only once the plugin's own diagnosis is out, which may come later
        assert cause["victims"]["incidents"] == [inc.id]
    assert elapsed < 15, f"diagnosis took {elapsed:.1f}s"
    # the same incident with the agent unreachable: still diagnosed, lower confidence, said so
    od = offline.final().to_contract()["incident"]["diagnosis"]  # type: ignore[union-attr]
    assert od["root_cause"] == d["root_cause"] and od["confidence"] < d["confidence"]
    assert od["unchecked"] == ["node-agent"]


@REAL
def test_pipeline_names_deleted_source_restart_and_oom_kill() -> None:
    """The default (literal) variant: a live daemon, so no dead connection to point at -- the
    diagnosis must still name the deleted source, the ``nonempty`` restart and the OOM kill."""
    with seeded_incident() as s:
        run = asyncio.run(run_lab(s, within=20))
    final = run.final()
    assert final is not None and final.incident.diagnosis is not None, run.changes
    d = final.to_contract()["incident"]["diagnosis"]
    assert d["root_cause"] == "stale-fuse-bind-after-daemon-restart", d["summary"]
    assert d["rule"] == "stale-fuse-deleted-root-after-restart" and d["confidence"] >= 0.9
    assert f"{s.subvolume_path}//deleted" in d["summary"]
    assert "OOM-killed and restarted with -o nonempty" in d["summary"]
    assert f"new pid {s.new_daemon_pid}" in d["summary"]
    assert f"pid {s.old_daemon_pid}" in d["explanation"] and "/proc/self/fd" in d["explanation"]
    assert any("nonempty" in r for r in d["remediation"])
    assert any("memory limit" in r and str(s.old_daemon_pid) in r for r in d["remediation"])
    mount = next(e for e in d["evidence"] if e["source"] == "node-agent:mountinfo")
    assert mount["data"]["root_deleted"] and mount["data"]["probe"]["status"] == "ok"


@REAL
def test_cli_json_prints_watch_contract_lines() -> None:
    from podsleuth.cli.lab import group

    result = CliRunner().invoke(group, ["seed-incident", "--output", "json"])
    assert result.exit_code == 0, result.output
    every = [json.loads(ln) for ln in result.stdout.splitlines() if ln.startswith("{")]
    assert every and {ln["event"] for ln in every} <= {"incident.opened", "incident.updated"}
    # the seeded application pod; the CSI plugin pod's own OOM-kill incident is there too
    lines = [ln for ln in every if (ln["incident"]["pod"] or "").startswith("dashboard-")]
    assert lines[0]["event"] == "incident.opened"
    last = lines[-1]["incident"]
    assert last["diagnosis"]["root_cause"] == "stale-fuse-bind-after-daemon-restart"
    assert "(via /proc/self/fd/" in last["message"] and "no such file or directory" in last["message"]


@REAL
def test_cli_text_report_shows_every_incident_and_runcs_error_once() -> None:
    from podsleuth.cli.lab import group

    result = CliRunner().invoke(group, ["seed-incident"])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "runc create failed: runc create failed" not in text
    assert "stale-fuse-bind-after-daemon-restart" in text
    # the CSI plugin's own OOM kill, which the JSON output carries, is in the text report too
    others = text.split("other incidents of this run:", 1)
    assert len(others) == 2 and "oom-killed" in others[1]
    assert any(ln.startswith("[watch] ") and "oom-killed" in ln for ln in text.splitlines())
