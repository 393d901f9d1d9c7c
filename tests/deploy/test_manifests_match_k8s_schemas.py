"""Every rendered object validates against the Kubernetes OpenAPI schemas, offline.

``kubernetes-validate`` ships the schemas of each minor version inside the package; its strict
mode also rejects unknown fields (a misspelt ``mountPropagation`` would otherwise be dropped
silently by the API server). The Prometheus Operator kinds are CRDs, absent from the core
schemas: they are checked against a subset of their CRD schema written out below.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.conftest import by_kind, objects

kubernetes_validate = pytest.importorskip("kubernetes_validate")
jsonschema = pytest.importorskip("jsonschema")

VERSIONS = ["1.28", "1.30", "1.33"]
CRD_KINDS = {"ServiceMonitor", "PrometheusRule"}

_STR = {"type": "string"}
_STR_MAP = {"type": "object", "additionalProperties": _STR}
SERVICE_MONITOR = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": {"type": "object", "required": ["name", "namespace"]},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["selector", "endpoints"],
            "properties": {
                "selector": {"type": "object", "additionalProperties": False,
                             "properties": {"matchLabels": _STR_MAP}},
                "namespaceSelector": {"type": "object", "additionalProperties": False,
                                      "properties": {"matchNames": {"type": "array", "items": _STR},
                                                     "any": {"type": "boolean"}}},
                "endpoints": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "additionalProperties": False, "required": ["port"],
                    "properties": {"port": _STR, "path": _STR,
                                   "interval": {"type": "string", "pattern": "^([0-9]+(ms|s|m|h))+$"}}}},
            },
        },
    },
}
PROMETHEUS_RULE = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "PrometheusRule"},
        "metadata": {"type": "object", "required": ["name", "namespace"]},
        "spec": {"type": "object", "additionalProperties": False, "required": ["groups"], "properties": {
            "groups": {"type": "array", "minItems": 1, "items": {
                "type": "object", "additionalProperties": False, "required": ["name", "rules"],
                "properties": {"name": _STR, "rules": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "additionalProperties": False, "required": ["alert", "expr"],
                    "properties": {"alert": _STR, "expr": _STR, "for": {"type": "string",
                                                                         "pattern": "^([0-9]+(ms|s|m|h))+$"},
                                   "labels": _STR_MAP, "annotations": _STR_MAP}}}}}}}},
    },
}


@pytest.mark.parametrize("version", VERSIONS)
def test_core_objects_validate_strictly(variant: tuple[str, list[dict[str, Any]]], version: str) -> None:
    name, objs = variant
    checked = 0
    for obj in objs:
        if obj["kind"] in CRD_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            pytest.fail(f"{name}: {obj['kind']}/{obj['metadata']['name']} invalid for {version}: {e}")
        checked += 1
    assert checked >= 8


def test_prometheus_operator_objects_match_their_crd_subset() -> None:
    objs = objects(service_monitor=True, prometheus_rule=True)
    monitors = by_kind(objs, "ServiceMonitor")
    rules = by_kind(objs, "PrometheusRule")
    assert len(monitors) == 2 and len(rules) == 1
    for m in monitors:
        jsonschema.validate(m, SERVICE_MONITOR)
    jsonschema.validate(rules[0], PROMETHEUS_RULE)
    exprs = " ".join(r["expr"] for r in rules[0]["spec"]["groups"][0]["rules"])
    assert "podsleuth_incidents_open" in exprs
    assert "podsleuth_watch_restarts_total" in exprs


def test_service_monitors_select_existing_service_ports() -> None:
    objs = objects(service_monitor=True)
    services = {s["metadata"]["name"]: s for s in by_kind(objs, "Service")}
    for m in by_kind(objs, "ServiceMonitor"):
        matching = [s for s in services.values()
                    if m["spec"]["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()]
        assert len(matching) == 1
        ports = {p["name"] for p in matching[0]["spec"]["ports"]}
        assert {e["port"] for e in m["spec"]["endpoints"]} <= ports


def test_crds_are_off_by_default() -> None:
    kinds = {o["kind"] for o in objects()}
    assert not kinds & CRD_KINDS
