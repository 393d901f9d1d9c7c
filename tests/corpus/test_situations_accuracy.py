"""Floor test: root-cause accuracy of ``podsleuth watch`` on whole situations (issue 17) must not
fall below the floors in ``tests/corpus/situations/floors.yaml`` (measured values, rounded down).

Each situation is what a cluster holds for one failure (pod, events, PVC/PV, ConfigMap, CSINode,
plugin pod, nodes, ServiceAccount...) transcribed from a public source; the runner serves all of
them through the real fake API server to one real ``watch`` process with no node agent and
scores the diagnosis of the failing pod's incident against the root cause a good SRE names."""

from __future__ import annotations

import pathlib
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.corpus import floors

ROOT = floors.ROOT
CORPUS = floors.corpus("situations")
DATA = ROOT / "src" / "podsleuth" / "data"
SOURCE = floors.SOURCE


def _runner() -> ModuleType:
    return floors.runner("situations")


def _known_causes() -> set[str]:
    """Rule causes of the decision rules plus every signature id: what a root_cause can be."""
    rules = yaml.safe_load((DATA / "rules" / "diagnosis.yaml").read_text(encoding="utf-8"))
    ids = {str(r["cause"]) for r in rules["rules"]}
    for path in (DATA / "signatures").glob("*.yaml"):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        items = doc.get("signatures", doc) if isinstance(doc, dict) else doc
        ids.update(str(s["id"]) for s in items or [] if isinstance(s, dict) and "id" in s)
    return ids


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    result: dict[str, Any] = _runner().evaluate(CORPUS)
    return result


def test_every_situation_is_sourced_and_well_formed() -> None:
    known = _known_causes()
    cases = _runner().load_cases(CORPUS)  # raises on unknown kinds and on Secrets with contents
    for case in cases:
        assert SOURCE.match(str(case["source"])), (case["id"], case["source"])
        want = case["expect"]["root_cause"]
        assert set(want if isinstance(want, list) else [want]) <= known, (case["id"], want)
        assert case["expect"].get("summary_mentions"), case["id"]
    assert sum(bool(c["expect"].get("contradiction")) for c in cases) >= 10


def test_a_secret_with_contents_is_refused(tmp_path: pathlib.Path) -> None:
    case = {
        "id": "x",
        "source": "https://example.org",
        "expect": {"root_cause": "evicted"},
        "objects": [
            {"kind": "Pod", "metadata": {"name": "p"}},
            {"kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "dg=="}},
        ],
    }
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({"cases": [case]}))
    with pytest.raises(ValueError, match="never its contents"):
        _runner().load_cases(tmp_path)


def test_prepare_keeps_the_chain_links_across_renaming() -> None:
    """Namespaced objects move into the situation's namespaces, the CSINode follows its renamed
    node, a PV keeps its name (kubelet messages name it) and its claimRef follows the PVC."""
    from datetime import UTC, datetime

    case = {"id": "x", "objects": [
        {"kind": "Pod", "metadata": {"name": "p", "namespace": "shop"}, "spec": {"nodeName": "n1"}},
        {"kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": "shop"},
         "spec": {"volumeName": "pv-1"}},
        {"kind": "PersistentVolume", "metadata": {"name": "pv-1"},
         "spec": {"claimRef": {"namespace": "shop", "name": "data"}}},
        {"kind": "CSINode", "metadata": {"name": "n1"}, "spec": {"drivers": []}},
        {"kind": "Node", "metadata": {"name": "n1"}},
    ]}  # fmt: skip
    served = {(key, o["metadata"]["name"]): o for key, o in _runner().prepare(7, case, datetime.now(UTC))}
    assert served[("pods", "p")]["metadata"]["namespace"] == "c007-shop"
    assert served[("pods", "p")]["spec"]["nodeName"] == "c007-n1"
    assert served[("persistentvolumeclaims", "data")]["metadata"]["namespace"] == "c007-shop"
    assert served[("persistentvolumeclaims", "data")]["spec"]["volumeName"] == "pv-1"
    assert served[("persistentvolumes", "pv-1")]["spec"]["claimRef"]["namespace"] == "c007-shop"
    assert ("storage.k8s.io/csinodes", "c007-n1") in served and ("nodes", "c007-n1") in served


def test_accuracy_at_or_above_floors(report: dict[str, Any]) -> None:
    wanted = floors.assert_at_or_above_floors("situations", report)
    assert report["contradiction_cases"] >= wanted["min_contradiction_cases"]
    assert report["two_incidents"] == 0, [m for m in report["misses"] if len(m["open_incidents"]) > 1]
