"""A Grafana dashboard of podsleuth's own metrics, generated from the metrics the code declares.

The metric list is read from the package's source (every ``Counter``/``Gauge``/``Histogram``/
``*MetricFamily`` whose name is a ``podsleuth_*`` literal), so a metric added anywhere gets a
panel on the next ``python -m podsleuth.deploy.dashboard > deploy/grafana-dashboard.json``, and
tests/deploy/test_dashboard.py fails until the committed file is regenerated.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parents[1]
KINDS = {
    "Counter": "counter",
    "CounterMetricFamily": "counter",
    "Gauge": "gauge",
    "GaugeMetricFamily": "gauge",
    "Histogram": "histogram",
}
ROWS = (
    ("podsleuth_watch_", "Watch streams"),
    ("podsleuth_incident", "Incidents and detection"),
    ("podsleuth_detection", "Incidents and detection"),
    ("podsleuth_alert_", "Alert delivery"),
    ("podsleuth_store_", "Incident store"),
    ("podsleuth_leader", "Leader election"),
    ("podsleuth_node_", "Node agent"),
)
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    """As declared (a counter's exposed name ends in ``_total``: see ``series``)."""
    kind: str
    help: str
    labels: tuple[str, ...]
    source: str

    @property
    def series(self) -> str:
        """The name Prometheus stores: counters get ``_total``, histograms ``_bucket``."""
        if self.kind == "counter":
            return self.name.removesuffix("_total") + "_total"
        if self.kind == "histogram":
            return self.name + "_bucket"
        return self.name


def _literal(node: ast.expr | None) -> Any:
    try:
        return ast.literal_eval(node) if node is not None else None
    except ValueError:
        return None


def _metric(call: ast.Call, source: str) -> Metric | None:
    func = call.func
    cls = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    if cls not in KINDS or not call.args:
        return None
    name = _literal(call.args[0])
    if not isinstance(name, str) or not name.startswith("podsleuth_"):
        return None
    kw = {k.arg: k.value for k in call.keywords if k.arg}
    doc = _literal(call.args[1] if len(call.args) > 1 else kw.get("documentation"))
    labels = _literal(call.args[2] if len(call.args) > 2 else kw.get("labelnames", kw.get("labels")))
    return Metric(name, KINDS[cls], str(doc or ""), tuple(labels or ()), source)


def declared_metrics(package: Path = PACKAGE) -> list[Metric]:
    """Every podsleuth metric the package declares, sorted by name (first declaration wins)."""
    found: dict[str, Metric] = {}
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package.parent).as_posix()
        for node in ast.walk(ast.parse(path.read_text(), filename=rel)):
            if isinstance(node, ast.Call) and (m := _metric(node, rel)) is not None:
                found.setdefault(m.name, m)
    return sorted(found.values(), key=lambda m: m.name)


def _expr(m: Metric) -> list[tuple[str, str]]:
    by = f" by ({', '.join(m.labels)})" if m.labels else ""
    legend = " ".join("{{" + label + "}}" for label in m.labels) or m.name
    if m.kind == "counter":
        return [(f"sum{by} (rate({m.series}[$__rate_interval]))", legend)]
    if m.kind == "histogram":
        return [
            (f"histogram_quantile({q}, sum by (le) (rate({m.series}[$__rate_interval])))", f"p{q * 100:g}")
            for q in (0.5, 0.99)
        ]
    return [(f"sum{by} ({m.series})", legend)]


def _panel(m: Metric, pid: int, x: int, y: int) -> dict[str, Any]:
    unit = "s" if m.name.endswith("_seconds") else "ops" if m.kind == "counter" else "short"
    return {
        "id": pid,
        "type": "timeseries",
        "title": m.name.removeprefix("podsleuth_"),
        "description": f"{m.help} ({m.kind}, {m.source})",
        "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True}},
        "targets": [
            {"refId": chr(ord("A") + n), "datasource": DATASOURCE, "expr": e, "legendFormat": legend}
            for n, (e, legend) in enumerate(_expr(m))
        ],
    }


def _row_of(m: Metric) -> str:
    return next((title for prefix, title in ROWS if m.name.startswith(prefix)), "Other")


def dashboard(metrics: list[Metric] | None = None) -> dict[str, Any]:
    """The dashboard: one row per subsystem, one panel per metric, two panels a line."""
    metrics = declared_metrics() if metrics is None else metrics
    order = [*dict.fromkeys(title for _, title in ROWS), "Other"]
    panels: list[dict[str, Any]] = []
    y, pid = 0, 1
    for title in order:
        members = [m for m in metrics if _row_of(m) == title]
        if not members:
            continue
        panels.append({"id": pid, "type": "row", "title": title, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})  # fmt: skip
        pid, y = pid + 1, y + 1
        for n, m in enumerate(members):
            panels.append(_panel(m, pid, 12 * (n % 2), y + 8 * (n // 2)))
            pid += 1
        y += 8 * ((len(members) + 1) // 2)
    return {
        "uid": "podsleuth-self",
        "title": "podsleuth",
        "description": "podsleuth's own metrics (generated by python -m podsleuth.deploy.dashboard)",
        "tags": ["podsleuth", "kubernetes"],
        "editable": True,
        "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "1m",
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus"}
            ]
        },
        "annotations": {"list": []},
        "panels": panels,
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render(), end="")
