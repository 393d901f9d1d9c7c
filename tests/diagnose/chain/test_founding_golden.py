"""The founding incident's report, word for word, in English and in Chinese (issue 18).

The real chain (fake API server, a node agent answering with the founding findings: the
ceph-fuse daemon OOM-killed and back with ``nonempty``, two pods left on the dead connection)
diagnoses the first pod; ``render_diagnosis`` writes the report an SRE reads. The files under
tests/golden/ are that report; a change of wording shows up as a diff to review. Volatile
parts (the agent's port) are normalized first.

Regenerate after an intended change: ``PODSLEUTH_REGENERATE_GOLDEN=1 python3 -m pytest -q
tests/diagnose/chain/test_founding_golden.py`` and read the diff before committing it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from podsleuth.config import NodeAgentSettings
from podsleuth.diagnose.evidence import DiagnosisRequest
from podsleuth.diagnose.report import render_diagnosis
from tests.diagnose.chain import founding
from tests.diagnose.chain.conftest import NODE, Cluster, FakeAgent
from tests.i18n.lint_zh import english_runs, has_chinese

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
TITLE = {
    "en": "pod shop/app1-5f7b9c8d4-x1 on node node-3: container-start RunContainerError",
    "zh": "节点 node-3 上的 Pod shop/app1-5f7b9c8d4-x1：container-start RunContainerError",
}


def _normalized(text: str) -> str:
    return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)


@pytest.fixture
async def founding_diagnosis(cluster: Cluster, tmp_path: Path) -> dict[str, object]:
    cluster.put("pods", founding.plugin_pod())
    for i in range(1, 3):
        for plural, obj in founding.objects(i):
            cluster.put(plural, obj)
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    async with FakeAgent(founding.findings(range(1, 3)), {founding.uid(1): founding.mounts(1)}) as agent:
        cluster.agents = NodeAgentSettings(discovery="static", urls={NODE: agent.url}, token_file=str(token))
        return await cluster.diagnose(DiagnosisRequest(**founding.subject_fields(1)))


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_the_founding_report_matches_its_golden_file(
    founding_diagnosis: dict[str, object], lang: str
) -> None:
    report = _normalized(render_diagnosis(founding_diagnosis, title=TITLE[lang], lang=lang))
    golden = GOLDEN / f"founding-incident.{lang}.txt"
    if os.environ.get("PODSLEUTH_REGENERATE_GOLDEN"):
        golden.write_text(report, encoding="utf-8")
    assert report == golden.read_text(encoding="utf-8")


async def test_the_chinese_report_reads_like_the_write_up(founding_diagnosis: dict[str, object]) -> None:
    """What the write-up's conclusion says: which daemon was OOM-killed, that it came back with
    nonempty, which pods are left on the dead mount, what to do; and no English sentence."""
    report = render_diagnosis(founding_diagnosis, title=TITLE["zh"], lang="zh")
    for needle in ("ceph-fuse", "OOM", "nonempty", "shop/app1-5f7b9c8d4-x1", "shop/app2-5f7b9c8d4-x2",
                   "根因：", "证据：", "处理建议："):  # fmt: skip
        assert needle in report, needle
    prose = [line for line in report.splitlines()[1:] if has_chinese(line)]
    assert len(prose) > 10
    assert [line for line in prose if english_runs(line)] == []
    english = render_diagnosis(founding_diagnosis, title=TITLE["en"], lang="en")
    assert not has_chinese(english)
