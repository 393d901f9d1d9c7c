"""Facts that cannot both be true lower the confidence and are said (issue 17 item 3).

The mechanism is data (``contradictions:`` in data/rules/diagnosis.yaml); each test runs the real
chain against the fake API server twice -- with the packaged rules and with the same rules minus
their contradictions -- so the drop is measured, not assumed.

Message sources: the FUSE ``stat ...: transport endpoint is not connected`` from
https://github.com/kublr/app-gluster/issues/1 (a glusterfs FUSE volume whose daemon was gone);
``configmap "..." not found`` and CSI ``not found in the list of registered CSI drivers`` are
kubelet's wording (kubernetes/kubernetes pkg/kubelet/kubelet_pods.go, pkg/volume/csi/csi_plugin.go).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from podsleuth.config import NodeAgentSettings
from podsleuth.diagnose.diagnoser import Diagnoser
from podsleuth.diagnose.evidence import DiagnosisRequest
from podsleuth.diagnose.knowledge import KnowledgeBase
from podsleuth.diagnose.rules import RuleSet, load_rules
from tests.diagnose.chain import founding
from tests.diagnose.chain.conftest import NODE, Cluster, FakeAgent, pod, waiting

UID = "63ae3caf-7c2f-11e7-8aa1-b24f011098d4"
ENOTCONN = (
    f'MountVolume.SetUp failed for volume "uploads" : stat /var/lib/kubelet/pods/{UID}/volumes/'
    "kubernetes.io~glusterfs/uploads: transport endpoint is not connected"
)


async def _both(
    cluster: Cluster, category: str, reason: str, message: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    kb = KnowledgeBase.default()
    subject = DiagnosisRequest(
        category=category,
        reason=reason,
        message=message,
        namespace="shop",
        pod="web-1",
        node=NODE,
        signature=kb.signature_of(message, reason),
        owner_kind="Deployment",
        owner_name="web",
    )
    rules = load_rules()
    plain = RuleSet(rules=rules.rules)
    with_c = await Diagnoser(client=cluster.client, agents=cluster.agents, rules=rules).diagnose(subject)
    without = await Diagnoser(client=cluster.client, agents=cluster.agents, rules=plain).diagnose(subject)
    return with_c.to_dict(), without.to_dict()


async def test_pvc_gone_but_its_fuse_mount_existed(cluster: Cluster) -> None:
    cluster.put(
        "pods",
        pod(
            "web-1",
            uid=UID,
            statuses=[waiting("app", "ContainerCreating", "")],
            volumes=[{"name": "uploads", "persistentVolumeClaim": {"claimName": "uploads"}}],
        ),
    )
    d, plain = await _both(cluster, "volume-mount", "FailedMount", ENOTCONN)
    assert d["root_cause"] == plain["root_cause"]  # not silently switched: the same conclusion, doubted
    assert [c["id"] for c in d["contradictions"]] == ["pvc-gone-but-mount-existed"]
    assert d["confidence"] == round(max(0.05, plain["confidence"] - 0.35), 3) < plain["confidence"]
    said = d["contradictions"][0]["said"]
    assert (
        "the PVC uploads is gone (404) but the pod's mount existed" in said
        and "deleted while in use?" in said
    )
    assert said in d["summary"] and "contradictions" not in plain
    assert any(e["source"] == "contradiction" and e["fact"] == said for e in d["evidence"])
    assert any(
        "kubectl -n shop get events --field-selector involvedObject.name=uploads" in c
        for c in d["next_checks"]
    )


async def test_no_contradiction_when_the_pvc_exists(cluster: Cluster) -> None:
    cluster.put(
        "pods",
        pod(
            "web-1",
            uid=UID,
            statuses=[waiting("app", "ContainerCreating", "")],
            volumes=[{"name": "uploads", "persistentVolumeClaim": {"claimName": "uploads"}}],
        ),
    )
    cluster.put(
        "persistentvolumeclaims",
        {
            "metadata": {"name": "uploads", "namespace": "shop"},
            "spec": {"volumeName": "pv-uploads"},
            "status": {"phase": "Bound"},
        },
    )
    d, plain = await _both(cluster, "volume-mount", "FailedMount", ENOTCONN)
    assert "contradictions" not in d and d["confidence"] == plain["confidence"]


async def test_configmap_reported_missing_that_exists(cluster: Cluster) -> None:
    msg = 'configmap "app-config" not found'
    cluster.put("configmaps", {"metadata": {"name": "app-config", "namespace": "shop"}, "data": {"k": "v"}})
    cluster.put("pods", pod("web-1", statuses=[waiting("app", "CreateContainerConfigError", msg)]))
    d, plain = await _both(cluster, "container-config", "CreateContainerConfigError", msg)
    assert d["root_cause"] == plain["root_cause"] == "missing-config-object"
    assert [c["id"] for c in d["contradictions"]] == ["config-reported-missing-but-exists"]
    assert d["confidence"] < plain["confidence"]
    assert "exists now in shop" in d["summary"]


async def test_csi_driver_reported_unregistered_but_listed(cluster: Cluster) -> None:
    msg = (
        'MountVolume.MountDevice failed for volume "pvc-1" : kubernetes.io/csi: attacher.MountDevice failed '
        "to create newCsiDriverClient: driver name cephfs.csi.ceph.com not found in the list of registered "
        "CSI drivers"
    )
    cluster.put("pods", pod("web-1", statuses=[waiting("app", "ContainerCreating", "")]))
    cluster.put(
        "storage.k8s.io/csinodes",
        {"metadata": {"name": NODE}, "spec": {"drivers": [{"name": "cephfs.csi.ceph.com"}]}},
    )
    d, plain = await _both(cluster, "volume-mount", "FailedMount", msg)
    assert d["root_cause"] == plain["root_cause"] == "csi-driver-not-registered", d["summary"]
    assert [c["id"] for c in d["contradictions"]] == ["csi-driver-reported-unregistered-but-listed"]
    assert d["confidence"] < plain["confidence"]


async def test_runtime_error_but_the_node_agent_finds_the_mount_healthy(
    cluster: Cluster, tmp_path: Path
) -> None:
    """The founding message (ENOTCONN from runc) while the agent, asked now, finds the mount fine."""
    cluster.put("pods", founding.plugin_pod())
    for plural, obj in founding.objects(1):
        cluster.put(plural, obj)
    healthy = [{**founding.mounts(1)[0], "probe": {"status": "ok", "errno": None}}]
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    async with FakeAgent([], {founding.uid(1): healthy}) as agent:
        cluster.agents = NodeAgentSettings(discovery="static", urls={NODE: agent.url}, token_file=str(token))
        kb = KnowledgeBase.default()
        fields = founding.subject_fields(1)
        subject = DiagnosisRequest(**fields, signature=kb.signature_of(fields["message"], fields["reason"]))
        d = (await Diagnoser(client=cluster.client, agents=cluster.agents).diagnose(subject)).to_dict()
        plain = (
            await Diagnoser(
                client=cluster.client, agents=cluster.agents, rules=RuleSet(rules=load_rules().rules)
            ).diagnose(subject)
        ).to_dict()
    assert d["root_cause"] == plain["root_cause"] == "stale-fuse-bind-after-daemon-restart"
    assert [c["id"] for c in d["contradictions"]] == ["runtime-failed-but-node-mount-healthy"]
    assert d["confidence"] == round(max(0.05, plain["confidence"] - 0.3), 3)
    assert "finds its mount " + founding.mount_path(1) + " healthy now" in d["summary"]
