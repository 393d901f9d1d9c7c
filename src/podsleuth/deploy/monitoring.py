"""Prometheus Operator objects: scrape config and alerts about podsleuth itself.

The rules watch podsleuth's own health, not the incidents it finds: those already go out through
its receivers, and a second alert per incident from Prometheus would be exactly the duplicate
noise podsleuth exists to remove. ``podsleuth_incidents_open`` is used only as a signal that
something cluster-wide is going on (or that routing/ignore rules need tuning).
"""

from __future__ import annotations

from podsleuth.deploy.common import AGENT, NAME, WATCHER, DeployOptions, Obj, meta, selector

MONITORING_API = "monitoring.coreos.com/v1"


def _service_monitor(opts: DeployOptions, name: str, component: str, port: str) -> Obj:
    return {
        "apiVersion": MONITORING_API,
        "kind": "ServiceMonitor",
        "metadata": meta(name, component, opts.namespace),
        "spec": {
            "selector": {"matchLabels": selector(component)},
            "namespaceSelector": {"matchNames": [opts.namespace]},
            "endpoints": [{"port": port, "path": "/metrics", "interval": "30s"}],
        },
    }


def service_monitors(opts: DeployOptions) -> list[Obj]:
    out = [_service_monitor(opts, WATCHER, "watcher", "metrics")]
    if opts.node_agent:
        out.append(_service_monitor(opts, AGENT, "node-agent", "http"))
    return out


def _alert(name: str, expr: str, duration: str, severity: str, summary: str, description: str) -> Obj:
    return {
        "alert": name,
        "expr": expr,
        "for": duration,
        "labels": {"severity": severity},
        "annotations": {"summary": summary, "description": description},
    }


def prometheus_rule(opts: DeployOptions) -> Obj:
    job = f'job="{WATCHER}", namespace="{opts.namespace}"'
    rules = [
        _alert(
            "PodsleuthWatcherDown",
            f"absent(up{{{job}}} == 1)",
            "10m",
            "critical",
            "podsleuth watcher is not scraped: nobody is watching the cluster's pods",
            "No watcher target has been up for 10 minutes. Check `kubectl -n "
            f"{opts.namespace} get pods -l app.kubernetes.io/component=watcher` and its logs.",
        ),
        _alert(
            "PodsleuthWatchRestartingOften",
            "sum by (resource, reason) (increase(podsleuth_watch_restarts_total"
            '{reason!~"stream-end|expired"}[15m])) > 5',
            "15m",
            "warning",
            "podsleuth watch of {{ $labels.resource }} keeps restarting ({{ $labels.reason }})",
            "More than 5 abnormal watch restarts in 15 minutes: events may be seen late. "
            "`forbidden` means RBAC lacks a permission (see docs/deploy.md), `connection` or "
            "`read-timeout` an unstable path to the API server.",
        ),
        _alert(
            "PodsleuthManyOpenIncidents",
            "sum(podsleuth_incidents_open) > 50",
            "30m",
            "warning",
            "podsleuth has {{ $value }} open incidents",
            "Many incidents have stayed open for 30 minutes: a cluster-wide problem (node, "
            "storage, registry) or ignore rules that need tuning.",
        ),
    ]
    return {
        "apiVersion": MONITORING_API,
        "kind": "PrometheusRule",
        "metadata": meta(NAME, "watcher", opts.namespace),
        "spec": {"groups": [{"name": "podsleuth", "rules": rules}]},
    }
