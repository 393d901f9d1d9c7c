"""Namespace-scoped mode: an identity bound by Roles in its namespaces may not read nodes (nor
anything cluster-wide). The watch goes on for its namespaces, says once that node detection is
off and why, is ready (degraded), and diagnoses that would use node facts lose confidence."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from podsleuth.config import parse_settings
from podsleuth.detect import IncidentChange
from podsleuth.diagnose.diagnosis import as_diagnosis
from podsleuth.diagnose.evidence import DiagnosisRequest
from podsleuth.kube import connect
from podsleuth.lab.demo_cluster import demo_steps
from podsleuth.lab.fake_apiserver import FakeApiServer
from podsleuth.metrics import WatchMetrics
from podsleuth.runner import WatchPipeline
from tests.waiting import eventually

SETTINGS = """
watch: {backoff_max: 0.2s, read_timeout: 5s}
node_agents: {discovery: "off"}
"""


def _cart_pods() -> list[dict[str, Any]]:
    """The demo's OOM-killed cart replicas, in namespace shop on node-5."""
    return [s.obj for s in demo_steps(datetime.now(UTC))
            if s.plural == "pods" and s.obj["metadata"]["name"].startswith("cart-")]


def _node(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}


def _deny_cluster_scope(api: FakeApiServer) -> None:
    """What Roles alone allow: nothing outside a namespace (nodes, PVs, all-namespace lists)."""
    for verb in ("get", "list", "watch"):
        api.deny(verb, cluster_wide_only=True)


async def _until(predicate: Any, within: float = 15.0) -> None:
    await eventually(predicate, within=within)


def _full(change: IncidentChange) -> bool:
    d = as_diagnosis(change.incident.diagnosis)
    return d is not None and d.full


async def test_pods_alerted_nodes_off_said_once_ready_degraded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    changes: list[IncidentChange] = []

    async def emit(change: IncidentChange) -> None:
        changes.append(change)

    async with FakeApiServer(bookmark_interval=None) as api:
        api.put("nodes", _node("node-5"))
        for pod in _cart_pods():
            api.put("pods", pod)
        _deny_cluster_scope(api)
        metrics = WatchMetrics()
        client = await connect(kubeconfig=str(api.kubeconfig_path(tmp_path)), context=None)
        pipeline = WatchPipeline(client=client, settings=parse_settings(SETTINGS), emit=emit,
                                 metrics=metrics, namespaces=("shop",))
        task = asyncio.create_task(pipeline.run())
        try:
            with caplog.at_level("DEBUG"):
                await _until(lambda: any(_full(c) for c in changes))
                await _until(lambda: metrics.registry.get_sample_value(
                    "podsleuth_watch_restarts_total", {"resource": "nodes", "reason": "forbidden"}) >= 3)
            # the pods' incident went out, with a diagnosis that says what it could not check
            opened = [c for c in changes if c.kind == "incident.opened"]
            assert [c.incident.category for c in opened] == ["oom-killed"]
            full = as_diagnosis([c for c in changes if _full(c)][-1].incident.diagnosis)
            assert full is not None
            gaps = [e for e in full.evidence if (e.data or {}).get("unavailable")]
            assert any("node-5" in e.fact for e in gaps), [e.fact for e in full.evidence]
            # said once, at WARNING, one line, naming the permission; the retries are quiet
            said = [r for r in caplog.records if r.levelname == "WARNING"]
            assert len(said) == 1, [r.getMessage() for r in said]
            line = said[0].getMessage()
            assert "\n" not in line and line.startswith("node detection is off")
            assert "cannot list nodes at the cluster scope" in line
            # ready (nodes are not awaited), the gap visible in metrics
            assert metrics.ready and metrics.synced.is_set()
            assert set(metrics.unavailable) == {"nodes"}
            sample = metrics.registry.get_sample_value
            assert sample("podsleuth_watch_resource_forbidden", {"resource": "nodes"}) == 1
            # the same diagnosis with node facts is more confident
            api.allow("get")
            assert pipeline.diagnoser is not None
            with_node = await pipeline.diagnoser.diagnose(DiagnosisRequest.from_incident(opened[0].incident))
            assert with_node.confidence > full.confidence
            # a permission granted later turns node detection on without a restart
            api.allow("list")
            api.allow("watch")
            await _until(lambda: not metrics.unavailable)
            assert sample("podsleuth_watch_resource_forbidden", {"resource": "nodes"}) == 0
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await pipeline.aclose()
            await client.aclose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _readyz(port: int) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""


async def test_cli_watch_with_namespace_and_no_node_rights(tmp_path: Path) -> None:
    async with FakeApiServer(bookmark_interval=0.5) as api:
        for pod in _cart_pods():
            api.put("pods", pod)
        _deny_cluster_scope(api)
        (tmp_path / "c.yaml").write_text(SETTINGS)
        port = _free_port()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "podsleuth", "watch", "--kubeconfig", str(api.kubeconfig_path(tmp_path)),
            "--namespace", "shop", "--config", str(tmp_path / "c.yaml"), "--output", "json",
            "--store", f"sqlite:///{tmp_path / 's.db'}", "--metrics-port", str(port),
            "--metrics-host", "127.0.0.1", "--no-leader-elect", "--duration", "8",
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        ready: tuple[int, str] = (0, "")

        async def answered() -> bool:
            nonlocal ready
            ready = await asyncio.to_thread(_readyz, port)
            return proc.returncode is not None or ready[0] == 200

        await eventually(answered, within=60, what="readyz", every=0.2)
        async with asyncio.timeout(60):
            out, err = await proc.communicate()
    stderr = err.decode()
    assert proc.returncode == 0, stderr
    assert ready == (200, "ready, degraded: nodes: node detection off (the identity may not list nodes)\n")
    assert stderr.count("node detection is off: this identity may not list nodes") == 1, stderr
    assert "restart (forbidden)" not in stderr and "Traceback" not in stderr
    assert b'"event": "incident.opened"' in out and b'"namespace": "shop"' in out
