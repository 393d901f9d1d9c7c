"""Config ignore rules and namespace include/exclude drop anomalies before they become incidents."""

from __future__ import annotations

from podsleuth.config import IgnoreRule
from podsleuth.watch.objects import Pod
from tests.detect.builders import at, detector, kinds, make_node, make_pod, node_conditions, waiting


def pull_error(ns: str = "shop", container: str = "app", labels: dict[str, str] | None = None) -> Pod:
    return make_pod(
        namespace=ns,
        phase="Pending",
        labels=labels,
        containers=[waiting(container, "ErrImagePull", "not found")],
    )


def test_namespace_include_and_exclude_globs() -> None:
    d = detector(namespaces=["shop*", "team-?"], exclude_namespaces=["shop-dev"])
    assert kinds(d.on_pod(None, pull_error("shop"), at(0)))
    assert kinds(d.on_pod(None, pull_error("team-a"), at(0)))
    assert d.on_pod(None, pull_error("shop-dev"), at(0)) == []
    assert d.on_pod(None, pull_error("billing"), at(0)) == []


def test_ignore_rule_fields() -> None:
    rules = [
        IgnoreRule(namespace="sandbox-*"),
        IgnoreRule(container="istio-*", category=["image-pull", "crash-loop"]),
        IgnoreRule(reason="ErrImage*", labels={"team": "qa"}),
        IgnoreRule(category="node-pressure"),
    ]
    d = detector(ignore=rules)
    assert d.on_pod(None, pull_error("sandbox-1"), at(0)) == []
    assert d.on_pod(None, pull_error(container="istio-proxy"), at(0)) == []
    assert d.on_pod(None, pull_error(labels={"team": "qa"}), at(0)) == []
    assert kinds(d.on_pod(None, pull_error(labels={"team": "dev"}), at(0))) == [
        ("incident.opened", "image-pull")
    ]
    node = make_node(conditions=node_conditions(DiskPressure="True"))
    assert d.on_node(None, node, at(0)) == []


def test_ignore_rule_with_namespace_does_not_match_node_incidents() -> None:
    d = detector(ignore=[IgnoreRule(namespace="*", category="node-pressure")])
    node = make_node(conditions=node_conditions(MemoryPressure="True"))
    assert kinds(d.on_node(None, node, at(0))) == [("incident.opened", "node-pressure")]
