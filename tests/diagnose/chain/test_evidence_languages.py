"""Every evidence sentence the API and node-agent links say exists in Chinese too (issue 18), with
the cluster's names kept verbatim inside it."""

from __future__ import annotations

from pathlib import Path

from podsleuth.config import NodeAgentSettings
from podsleuth.diagnose import api_link, node_link
from podsleuth.diagnose.evidence import Case, DiagnosisRequest
from podsleuth.diagnose.knowledge import KnowledgeBase
from tests.diagnose.chain import founding
from tests.diagnose.chain.conftest import NODE, Cluster, FakeAgent
from tests.i18n.lint_zh import has_chinese


async def _case(cluster: Cluster) -> Case:
    subject = DiagnosisRequest(**founding.subject_fields(1))
    case = Case(subject)
    case.facts.update(KnowledgeBase.default().classify(subject.message, subject.reason).facts)
    await api_link.collect(cluster.client, case, call_timeout=3.0)
    await node_link.collect(case, client=cluster.client, settings=cluster.agents)
    return case


def _seed(cluster: Cluster) -> None:
    cluster.put("pods", founding.plugin_pod())
    for i in (1, 2):
        for plural, obj in founding.objects(i):
            cluster.put(plural, obj)


async def test_the_founding_case_is_said_in_both_languages(cluster: Cluster, tmp_path: Path) -> None:
    _seed(cluster)
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    async with FakeAgent(founding.findings(range(1, 3)), {founding.uid(1): founding.mounts(1)}) as agent:
        cluster.agents = NodeAgentSettings(discovery="static", urls={NODE: agent.url}, token_file=str(token))
        case = await _case(cluster)
    sources = [e.source for e in case.evidence]
    assert {"api:pod", "api:volume", "api:csi-plugin", "node-agent:fuse", "node-agent:kernel"} <= set(sources)
    for e in case.evidence:
        zh = e.translations["zh"]
        assert has_chinese(zh) and not has_chinese(e.fact), (e.fact, zh)
    by = {e.source: e for e in case.evidence}
    plugin = by["api:csi-plugin"]
    assert (
        "ceph-csi/csi-cephfsplugin-7xk2p" in plugin.fact
        and "ceph-csi/csi-cephfsplugin-7xk2p" in plugin.text("zh")
    )
    assert "OOMKilled" in plugin.text("zh") and "重启" in plugin.text("zh")
    fuse = by["node-agent:fuse"].text("zh")
    assert "守护进程已重启" in fuse and str(by["node-agent:fuse"].data["connection"]) in fuse
    kernel = by["node-agent:kernel"]
    assert "OOM killer" in kernel.text("zh") and "4100" in kernel.text("zh") and "pid 4100" in kernel.fact


async def test_an_unreachable_agent_is_a_gap_said_in_both_languages(cluster: Cluster) -> None:
    _seed(cluster)
    cluster.agents = NodeAgentSettings(discovery="static", urls={NODE: "http://127.0.0.1:9"}, timeout=1.0)
    case = await _case(cluster)
    gap = next(e for e in case.evidence if e.source == "node-agent")
    assert case.gaps == ["node-agent"] and gap.data["unavailable"] is True
    assert gap.fact.startswith(
        f"node agent of {NODE} not consulted: node agent at http://127.0.0.1:9 unreachable"
    )
    zh = gap.text("zh")
    assert (
        zh.startswith(f"未能查询节点 {NODE} 的 node agent") and "无法连接 node agent http://127.0.0.1:9" in zh
    )


async def test_a_denied_read_is_a_gap_naming_the_object_in_both_languages(cluster: Cluster) -> None:
    case = Case(
        DiagnosisRequest(
            category="volume-mount", reason="FailedMount", message="m", namespace="shop", pod="gone"
        )
    )
    await api_link.collect(cluster.client, case, call_timeout=3.0)
    assert case.evidence == [], "a pod that is not there (404) is no gap, and nothing else is read for it"
    cluster.api.deny("get", "nodes")
    case = Case(DiagnosisRequest(category="volume-mount", reason="FailedMount", message="m", node="node-9"))
    await api_link.collect(cluster.client, case, call_timeout=3.0)
    gap = case.evidence[0]
    assert (gap.fact, gap.text("zh")) == ("not allowed to read node node-9", "无权读取节点 node-9")
