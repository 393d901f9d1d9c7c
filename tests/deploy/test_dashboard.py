"""deploy/grafana-dashboard.json is what the generator makes, and its panels and the metrics
the running components really register are the same set."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge

from podsleuth.alert.backlog import StoreHealth
from podsleuth.alert.outbox import AlertMetrics
from podsleuth.deploy.dashboard import dashboard, declared_metrics, render
from podsleuth.metrics import WatchMetrics
from podsleuth.node.check import CheckOptions
from podsleuth.node.server import Agent, ServerConfig

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "deploy/grafana-dashboard.json"
SERIES = re.compile(r"\b(podsleuth_[a-z0-9_]+)\b")


def _registered() -> set[str]:
    """Family names of the real registries: the watcher's (with alerting, store health and the
    leader gauge on it, as watch_job wires them) and the node agent's."""
    watch = WatchMetrics()
    AlertMetrics(watch.registry)
    StoreHealth(watch.registry)
    Gauge("podsleuth_leader", "leader", registry=watch.registry)
    agent = Agent(ServerConfig(options=CheckOptions()))
    registries: list[CollectorRegistry] = [watch.registry, agent.registry]
    return {family.name for r in registries for family in r.collect()}


def _panel_series() -> list[set[str]]:
    panels = [p for p in dashboard()["panels"] if p["type"] != "row"]
    return [{m for t in p["targets"] for m in SERIES.findall(t["expr"])} for p in panels]


def test_the_committed_file_is_in_sync() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "podsleuth.deploy.dashboard"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == render() == COMMITTED.read_text(), (
        "run: python -m podsleuth.deploy.dashboard > deploy/grafana-dashboard.json"
    )
    json.loads(out.stdout)


def test_every_registered_metric_has_a_panel_and_every_panel_a_metric() -> None:
    registered = _registered()
    assert len(registered) >= 25, registered
    declared = {m.name.removesuffix("_total") for m in declared_metrics()}
    assert declared == registered, (declared ^ registered)
    used = {re.sub(r"_(total|bucket)$", "", s) for panel in _panel_series() for s in panel}
    assert used == registered, (used ^ registered)
    for series in _panel_series():
        assert series, "a panel without a podsleuth metric"


def test_queries_use_the_exposed_series_names() -> None:
    kinds = {m.name.removesuffix("_total"): m.kind for m in declared_metrics()}
    for series in _panel_series():
        for s in series:
            base = re.sub(r"_(total|bucket)$", "", s)
            expected = {"counter": base + "_total", "histogram": base + "_bucket", "gauge": base}
            assert s == expected[kinds[base]], s


def test_panels_do_not_overlap() -> None:
    cells: set[tuple[int, int]] = set()
    for p in dashboard()["panels"]:
        g = p["gridPos"]
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not mine & cells, p["title"]
        cells |= mine
    ids = [p["id"] for p in dashboard()["panels"]]
    assert len(ids) == len(set(ids))
