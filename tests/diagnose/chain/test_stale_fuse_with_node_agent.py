"""The founding cause: confirmed by the node agent, or only suspected when the agent is unreachable."""

from __future__ import annotations

from pathlib import Path

from podsleuth.config import NodeAgentSettings
from podsleuth.diagnose.evidence import DiagnosisRequest
from tests.diagnose.chain import founding
from tests.diagnose.chain.conftest import NODE, Cluster, FakeAgent


def _seed(cluster: Cluster, pods: range) -> None:
    cluster.put("pods", founding.plugin_pod())
    for i in pods:
        for plural, obj in founding.objects(i):
            cluster.put(plural, obj)


async def test_agent_confirms_restart_and_oom_kill(cluster: Cluster, tmp_path: Path) -> None:
    _seed(cluster, range(1, 3))
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    async with FakeAgent(founding.findings(range(1, 3)), {founding.uid(1): founding.mounts(1)}) as agent:
        cluster.agents = NodeAgentSettings(discovery="static", urls={NODE: agent.url}, token_file=str(token))
        d = await cluster.diagnose(DiagnosisRequest(**founding.subject_fields(1)))
    assert d["root_cause"] == "stale-fuse-bind-after-daemon-restart"
    assert d["rule"] == "stale-fuse-bind-confirmed"
    assert d["confidence"] >= 0.9
    sources = [e["source"] for e in d["evidence"]]
    assert sources[0] == "signature" and "api:volume" in sources and "node-agent:kernel" in sources
    kernel = next(e for e in d["evidence"] if e["source"] == "node-agent:kernel")
    assert kernel["data"]["pid"] == 4100 and "OOM" in kernel["fact"]
    text = " ".join(d["remediation"])
    assert f"Delete pod shop/app1-5f7b9c8d4-x1 on node {NODE}" in text
    assert "shop/app2-5f7b9c8d4-x2" in text, "the other pod on the same dead connection is named too"
    assert "ceph-csi/csi-cephfsplugin-7xk2p" in text and "256Mi" in text
    assert "nonempty" in text
    assert d["group"]["pods"] == ["shop/app1-5f7b9c8d4-x1", "shop/app2-5f7b9c8d4-x2"]
    assert "unchecked" not in d
    assert all("s3cret" not in str(e) for e in d["evidence"])


async def test_unreachable_agent_lowers_confidence_but_still_diagnoses(cluster: Cluster) -> None:
    _seed(cluster, range(1, 2))
    cluster.agents = NodeAgentSettings(discovery="static", urls={NODE: "http://127.0.0.1:9"}, timeout=1.0)
    d = await cluster.diagnose(DiagnosisRequest(**founding.subject_fields(1)))
    assert d["root_cause"] == "stale-fuse-bind-after-daemon-restart"
    assert d["rule"] == "stale-fuse-bind-suspected"
    assert 0.2 < d["confidence"] < 0.7
    assert d["unchecked"] == ["node-agent"]
    gap = next(e for e in d["evidence"] if e["source"] == "node-agent")
    assert gap["data"]["unavailable"] and "unreachable" in gap["fact"]
    assert any("OOMKilled" in e["fact"] for e in d["evidence"] if e["source"] == "api:csi-plugin")


async def test_daemonset_discovery_finds_the_agent_pod_on_the_node(cluster: Cluster) -> None:
    _seed(cluster, range(1, 2))
    cluster.put(
        "pods",
        {
            "metadata": {
                "name": "agent-x",
                "namespace": "podsleuth",
                "uid": "a",
                "labels": {"app.kubernetes.io/component": "node-agent"},
            },
            "spec": {"nodeName": NODE},
            "status": {"phase": "Running", "podIP": "127.0.0.1"},
        },
    )
    async with FakeAgent(founding.findings(range(1, 2)), {}, token="") as agent:
        port = int(agent.url.rsplit(":", 1)[1])
        cluster.agents = NodeAgentSettings(discovery="daemonset", port=port)
        d = await cluster.diagnose(DiagnosisRequest(**founding.subject_fields(1)))
    assert agent.requests, "the agent found through the DaemonSet pod was asked"
    assert d["rule"] == "stale-fuse-bind-confirmed"
