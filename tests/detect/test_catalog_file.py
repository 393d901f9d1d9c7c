"""The shipped rules file parses, covers every category, and bad files are rejected by name."""

from __future__ import annotations

import pytest

from podsleuth.detect.anomaly import CATEGORIES, CatalogError, load_catalog, parse_catalog

CONTRACT_CATEGORIES = {
    "image-pull",
    "crash-loop",
    "oom-killed",
    "container-config",
    "container-start",
    "volume-mount",
    "sandbox",
    "unschedulable",
    "probe-failure",
    "evicted",
    "init-failure",
    "node-not-ready",
    "node-pressure",
    "stuck-terminating",
    "deadline-exceeded",
}


def test_shipped_catalog_parses_and_covers_the_contract() -> None:
    catalog = load_catalog()
    assert CONTRACT_CATEGORIES <= set(catalog.categories) == CATEGORIES
    assert catalog.container_reasons["ImagePullBackOff"] == "image-pull"
    assert catalog.container_reasons["RunContainerError"] == "container-start"
    assert catalog.pod_reasons["Evicted"] == "evicted"
    assert catalog.event_reasons["FailedMount"] == "volume-mount"
    assert {r.type for r in catalog.node_conditions} >= {
        "Ready",
        "MemoryPressure",
        "DiskPressure",
        "PIDPressure",
    }


def test_severity_table() -> None:
    catalog = load_catalog()
    assert catalog.severity("node-not-ready", "KubeletNotReady") == "critical"
    assert catalog.severity("container-start", "RunContainerError") == "critical"
    assert catalog.severity("crash-loop", "CrashLoopBackOff") == "error"
    assert catalog.severity("probe-failure", "Unhealthy") == "warning"
    assert catalog.severity("evicted", "Preempting") == "warning"
    assert catalog.wants_logs("crash-loop") and catalog.wants_logs("oom-killed")
    assert not catalog.wants_logs("image-pull")


def test_unknown_category_is_rejected() -> None:
    text = load_catalog_text().replace("ErrImagePull: image-pull", "ErrImagePull: image-pul")
    with pytest.raises(CatalogError, match=r"container_reasons\.ErrImagePull: unknown category .image-pul."):
        parse_catalog(text)


def test_unknown_key_and_bad_severity_are_rejected() -> None:
    with pytest.raises(CatalogError):
        parse_catalog(load_catalog_text() + "\nsurprise: 1\n")
    with pytest.raises(CatalogError):
        parse_catalog(load_catalog_text().replace("{severity: warning}", "{severity: meh}"))


def load_catalog_text() -> str:
    from importlib import resources

    return resources.files("podsleuth").joinpath("data/rules/categories.yaml").read_text()
