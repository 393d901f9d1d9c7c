"""``incidents show`` of the founding incident, word for word, in English and in Chinese (issue 18).

The diagnosis is the real chain's (fake API server, a node agent answering with the founding
findings: the ceph-fuse daemon OOM-killed and back with ``nonempty``, two pods left on the dead
connection; the fixture of tests/diagnose/chain/test_founding_golden.py). It is stored in a real
SQLite store as the watcher stores an incident change, and ``podsleuth incidents show ID
--lang en|zh`` prints the story an SRE reads. The files tests/golden/incidents-show.{en,zh}.txt
are that story; a change of wording shows up as a diff to review. Volatile parts are fixed or
normalized: the incident's id and times are fixed in the stored change, the agent's port is
replaced by ``PORT``.

Regenerate after an intended change: ``PODSLEUTH_REGENERATE_GOLDEN=1 python3 -m pytest -q
tests/cli/test_founding_show_golden.py`` and read the diff before committing it.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from podsleuth.cli import cli
from podsleuth.store import open_store
from tests.diagnose.chain import founding
from tests.diagnose.chain.conftest import NODE, cluster  # noqa: F401 (the fixture founding_diagnosis uses)
from tests.diagnose.chain.test_founding_golden import founding_diagnosis  # noqa: F401 (a fixture)
from tests.i18n.lint_zh import english_runs, has_chinese

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
INCIDENT_ID = "f0undin90001"
AT = 1767225605.0  # 2026-01-01T00:00:05Z: the timeline's time


def _change(diagnosis: dict[str, Any]) -> dict[str, Any]:
    """The watcher's ``incident.opened`` change for the first pod (CONTRACT.md's incident)."""
    fields = founding.subject_fields(1)
    return {"event": "incident.opened", "incident": {
        "id": INCIDENT_ID, "fingerprint": "founding-golden", "category": fields["category"],
        "reason": fields["reason"], "signature": "containerd-spec-stat-enotconn", "severity": "critical",
        "namespace": fields["namespace"], "pod": fields["pod"], "node": NODE, "container": "app",
        "owner": {"kind": "Deployment", "name": fields["owner_name"]}, "message": fields["message"],
        "count": 3, "first_seen": "2026-01-01T00:00:03Z", "last_seen": "2026-01-01T00:00:05Z",
        "diagnosis": diagnosis, "pods": [fields["pod"]], "nodes": [NODE], "condition": None,
        "restart_count": 0, "last_termination": None,
        "events": [{"type": "Warning", "reason": "Failed", "count": 3, "message": fields["message"]}],
        "logs": None, "labels": {}, "resolved_at": None, "node_incident": None, "cluster": None,
    }}  # fmt: skip


def _normalized(text: str) -> str:
    return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)


async def _store(url: str, change: dict[str, Any]) -> None:
    store = await open_store(url)
    try:
        await store.record_change(change, at=AT)
    finally:
        await store.aclose()


@pytest.fixture
def shown(founding_diagnosis: dict[str, Any], tmp_path: Path) -> dict[str, str]:  # noqa: F811
    """Both stories; a plain fixture, so that the CLI (which runs its own event loop) is called
    outside the chain fixture's running loop."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    asyncio.run(_store(url, _change(founding_diagnosis)))
    out = {}
    for lang in ("en", "zh"):
        result = CliRunner().invoke(cli, ["incidents", "show", INCIDENT_ID, "--store", url, "--lang", lang])
        assert result.exit_code == 0, result.output
        out[lang] = _normalized(result.stdout)
    return out


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_incidents_show_of_the_founding_incident_matches_its_golden_file(
    shown: dict[str, str], lang: str
) -> None:
    golden = GOLDEN / f"incidents-show.{lang}.txt"
    if os.environ.get("PODSLEUTH_REGENERATE_GOLDEN"):
        golden.write_text(shown[lang], encoding="utf-8")
    assert shown[lang] == golden.read_text(encoding="utf-8")


def test_the_chinese_story_reads_like_the_write_ups_conclusion(shown: dict[str, str]) -> None:
    """Which daemon was OOM-killed when, that it came back with nonempty, which pods are left on
    the dead mount, what to do - in Chinese headings and sentences; the English story has no
    Chinese."""
    zh = shown["zh"]
    for needle in ("根因", "证据", "处理建议", "受影响对象", "时间线", "静默此事件", "ceph-fuse", "OOM",
                   "2026-01-01T00:00:00Z", "nonempty", "shop/app1-5f7b9c8d4-x1", "shop/app2-5f7b9c8d4-x2"):
        assert needle in zh, needle
    # cluster text (the runtime's message and event, the kubectl-style lines) stays as it is
    data = ("  消息：", "  Warning ")
    prose = [line for line in zh.splitlines() if has_chinese(line) and not line.startswith(data)]
    assert len(prose) > 10
    assert [line for line in prose if english_runs(line)] == []
    assert not has_chinese(shown["en"])
