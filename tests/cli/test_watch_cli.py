"""``podsleuth watch`` as a user runs it: the demo end to end, JSON lines, metrics, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

from podsleuth.lab.fake_apiserver import write_kubeconfig
from tests.fakes.net import free_port
from tests.waiting import eventually_sync

CONTRACT_KEYS = {
    "id", "fingerprint", "category", "reason", "signature", "severity", "namespace", "pod", "node",
    "container", "owner", "message", "count", "first_seen", "last_seen", "diagnosis",
}  # fmt: skip


def _podsleuth(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "podsleuth", *args], capture_output=True, text=True, timeout=timeout
    )


def test_demo_json_lines_follow_the_contract() -> None:
    result = _podsleuth("watch", "--demo", "--duration", "7", "--output", "json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines, result.stderr
    for line in lines:
        assert set(line) == {"event", "incident"}
        assert line["event"] in {"incident.opened", "incident.updated", "incident.resolved"}
        assert set(line["incident"]) >= CONTRACT_KEYS
        assert line["incident"]["severity"] in {"critical", "error", "warning"}
    opened = [line["incident"] for line in lines if line["event"] == "incident.opened"]
    by_category = {inc["category"]: inc for inc in opened}
    assert {"container-start", "oom-killed", "image-pull", "container-config", "node-pressure"} <= set(
        by_category
    )
    assert len([i for i in opened if i["category"] == "image-pull"]) == 1, (
        "ErrImagePull -> BackOff is one incident"
    )
    founding = by_category["container-start"]
    assert founding["signature"] == "runc-procfd-enoent-stale-fuse-csi-bind"
    assert founding["diagnosis"]["root_cause"]
    node = by_category["node-pressure"]
    assert node["pod"] is None and node["node"] == "node-3"
    oom = [line["incident"] for line in lines if line["incident"]["category"] == "oom-killed"]
    assert max(i["count"] for i in oom) == 3
    assert any(i.get("logs") for i in oom), "crash/oom incidents carry the previous container's log"


def test_metrics_and_probes_while_watching() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "podsleuth", "watch", "--demo", "--duration", "8", "--output", "json",
         "--metrics-port", str(port), "--metrics-host", "127.0.0.1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        def get(path: str) -> tuple[int, str]:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1) as resp:
                    return resp.status, resp.read().decode()
            except OSError:
                return 0, ""

        def with_incident() -> str:  # the demo has published its failures: one is detected
            text = get("/metrics")[1]
            return text if "podsleuth_incidents_open{" in text else ""

        eventually_sync(lambda: get("/readyz")[0] == 200, within=7, what="readyz", every=0.1)
        body = eventually_sync(with_incident, within=6, what="an open incident in /metrics", every=0.1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
            assert resp.status == 200
    finally:
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert 'podsleuth_watch_events_total{resource="pods"}' in body
    assert "podsleuth_incidents_open{" in body
    assert "podsleuth_detection_latency_seconds_bucket" in body


def test_missing_kubeconfig_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = _podsleuth("watch", "--kubeconfig", str(tmp_path / "nope"), "--duration", "1")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "nope" in result.stderr and "Traceback" not in result.stderr


def test_bad_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "podsleuth.yaml"
    config.write_text("watch:\n  thresholds:\n    stuck_creatin: 5m\n")
    result = _podsleuth("watch", "--demo", "--config", str(config))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"podsleuth: error: {config}:3: unknown key 'watch.thresholds.stuck_creatin'"
    )


def test_unreachable_server_retries_without_crashing(tmp_path: Path) -> None:
    port = free_port()
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{port}", token="t")
    result = _podsleuth("watch", "--kubeconfig", str(kubeconfig), "--duration", "3", "-o", "json")
    # it retried for the whole --duration, then says it never saw the cluster: exit 2, not 0
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("podsleuth: error: the watch ended before")
    assert result.stderr.count("watch restart") >= 3
    assert result.stdout == ""
    assert f"127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
