"""One typed ``Diagnosis`` from the diagnoser to the store, the alerts and back (issue 15 item 1).

The diagnoses are real ones -- the founding incident's shape through the whole chain with the
packaged rules (group, next checks, translations), the same with the node agent unreachable
(``unchecked``), and the first diagnosis from the signature alone (no ``rule`` key) -- written
to a real SQLite store as the watch writes them (``IncidentChange.to_contract``), read back and
decoded the three ways the code reads them: ``Diagnosis.from_dict``, ``resume``'s decoding of
the detector's ``Incident``, and the alert side's ``decode_change``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from podsleuth.alert.model import decode_change
from podsleuth.config import NodeAgentSettings
from podsleuth.detect import Incident, IncidentChange
from podsleuth.detect.owner import Owner
from podsleuth.diagnose.diagnosis import Diagnosis, as_diagnosis
from podsleuth.diagnose.evidence import DiagnosisRequest
from podsleuth.diagnose.incident import first_diagnosis
from podsleuth.diagnose.knowledge import KnowledgeBase
from podsleuth.store import open_store
from tests.diagnose.chain import founding
from tests.diagnose.chain.conftest import NODE, Cluster, FakeAgent

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _incident(diagnosis: Diagnosis, fields: dict[str, Any]) -> Incident:
    return Incident(
        id="inc-1",
        fingerprint="fp-1",
        category=fields["category"],
        reason=fields["reason"],
        signature=KnowledgeBase.default().signature_of(fields["message"], fields["reason"]),
        severity="error",
        namespace=fields["namespace"],
        pod=fields["pod"],
        node=NODE,
        container=fields["container"],
        owner=Owner(kind="Deployment", name=fields["owner_name"]),
        message=fields["message"],
        count=1,
        first_seen=T0,
        last_seen=T0,
        diagnosis=diagnosis,
    )


async def _full(cluster: Cluster, tmp_path: Path, *, agent: bool) -> Diagnosis:
    cluster.put("pods", founding.plugin_pod())
    for plural, obj in founding.objects(1):
        cluster.put(plural, obj)
    fields = founding.subject_fields(1)
    subject = DiagnosisRequest(
        **fields, signature=KnowledgeBase.default().signature_of(fields["message"], fields["reason"])
    )
    if not agent:
        cluster.agents = NodeAgentSettings(discovery="static", urls={NODE: "http://127.0.0.1:9"}, timeout=1.0)
        return Diagnosis.from_dict(await cluster.diagnose(subject))
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    async with FakeAgent(founding.findings(range(1, 2)), {founding.uid(1): founding.mounts(1)}) as fake:
        cluster.agents = NodeAgentSettings(discovery="static", urls={NODE: fake.url}, token_file=str(token))
        return Diagnosis.from_dict(await cluster.diagnose(subject))


def _first() -> Diagnosis:
    fields = founding.subject_fields(1)
    inc = _incident(Diagnosis(root_cause="", summary="", confidence=0.0), fields)
    d = first_diagnosis(inc, KnowledgeBase.default())
    assert d is not None
    return d


async def _through_the_store(tmp_path: Path, diagnosis: Diagnosis) -> dict[str, Any]:
    change = IncidentChange(kind="incident.opened", incident=_incident(diagnosis, founding.subject_fields(1)))
    store = await open_store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        await store.record_change(change.to_contract(), at=T0.timestamp())
        record = await store.incident("inc-1")
    finally:
        await store.aclose()
    assert record is not None
    data: dict[str, Any] = record.data
    return data


@pytest.mark.parametrize("kind", ["full", "agent-unreachable", "first"])
async def test_the_typed_diagnosis_survives_store_resume_and_alerts(
    cluster: Cluster, tmp_path: Path, kind: str
) -> None:
    d = _first() if kind == "first" else await _full(cluster, tmp_path, agent=kind == "full")
    stored = await _through_the_store(tmp_path, d)
    assert Diagnosis.from_dict(stored["diagnosis"]) == d
    # resume reads the detector's Incident back from the row: the diagnosis is its JSON, typed again
    resumed = msgspec.convert(stored, Incident, strict=False)
    assert as_diagnosis(resumed.diagnosis) == d
    # the alert side decodes the same JSON into its own view: nothing is lost on the way
    alert = decode_change({"event": "incident.opened", "incident": stored}).incident.diagnosis
    assert alert is not None
    assert (alert.root_cause, alert.summary, alert.explanation, alert.confidence) == (
        d.root_cause,
        d.summary,
        d.explanation,
        d.confidence,
    )
    assert alert.rule == (d.rule or None) and alert.remediation == d.remediation
    assert [(e.source, e.fact, e.data) for e in alert.evidence] == [
        (e.source, e.fact, e.data) for e in d.evidence
    ]
    assert alert.next_checks == (d.next_checks or []) and alert.unchecked == (d.unchecked or [])
    assert alert.translations["zh"].evidence == d.translations["zh"].evidence
    assert len(d.translations["zh"].evidence) == len(d.evidence)


async def test_json_shape_is_the_contract_and_says_first_from_full(cluster: Cluster, tmp_path: Path) -> None:
    full, first = await _full(cluster, tmp_path, agent=True), _first()
    j, f = full.to_dict(), first.to_dict()
    contract = {"root_cause", "summary", "confidence", "evidence", "remediation"}
    assert contract <= set(j) and contract <= set(f)
    assert all(set(e) == {"source", "fact", "data"} for e in [*j["evidence"], *f["evidence"]])
    # the first diagnosis never ran the rules: no rule key at all; the full one names its rule
    assert "rule" not in f and not first.full
    assert j["rule"] == "stale-fuse-bind-confirmed" and full.full
    assert j["group"]["pods"] == ["shop/app1-5f7b9c8d4-x1"] and "unchecked" not in j
    # no bookkeeping of the runner in the data
    assert not {"signature", "full"} & set(j) and not {"signature", "full"} & set(f)
    assert set(j["translations"]) == {"zh"}


@pytest.mark.parametrize("fmt", ["markdown", "text"])
async def test_the_founding_incidents_alert_reads_in_the_configured_language(
    cluster: Cluster, tmp_path: Path, fmt: str
) -> None:
    from podsleuth.alert.render import Renderer
    from tests.i18n.lint_zh import english_runs, has_chinese

    d = await _full(cluster, tmp_path, agent=True)
    stored = await _through_the_store(tmp_path, d)
    change = decode_change({"event": "incident.opened", "incident": stored})
    zh = Renderer(locale="zh").render([change], fmt=fmt).body
    en = Renderer(locale="en").render([change], fmt=fmt).body
    assert d.translations["zh"].summary in " ".join(zh.split())
    assert not has_chinese(en)
    # every line the diagnosis wrote is Chinese, bar identifiers, paths, commands and quotes
    prose = [ln for ln in zh.splitlines() if has_chinese(ln)]
    assert len(prose) > 5
    assert [run for ln in prose for run in english_runs(ln)] == []
