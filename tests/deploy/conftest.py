"""Renders shared by the deploy tests: the default install and the documented variants."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from podsleuth.deploy import render

PG = "postgresql://podsleuth:s3cret@pg.example:5432/podsleuth"

VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "ha": {"replicas": 3, "store_url": PG},
    "no-agent": {"node_agent": False},
    "other-namespace": {"namespace": "other"},
    "monitoring": {"service_monitor": True, "prometheus_rule": True},
    "two-kubelet-dirs": {"kubelet_dirs": ("/var/lib/kubelet", "/data/kubernetes/kubelet")},
}


def objects(**kwargs: Any) -> list[dict[str, Any]]:
    """Build, then round-trip through the YAML text: what kubectl gets is what is checked."""
    text = render.render(render.options_from(**kwargs))
    return [d for d in yaml.safe_load_all(text) if d is not None]


def by_kind(objs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] == kind]


def one(objs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = by_kind(objs, kind)
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


@pytest.fixture(params=sorted(VARIANTS), ids=sorted(VARIANTS))
def variant(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, objects(**VARIANTS[request.param])
