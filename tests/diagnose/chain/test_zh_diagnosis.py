"""A diagnosis carries its texts in Chinese too, rendered from the rule's ``zh:`` block (issue 18).

The founding incident's shape (tests/diagnose/chain/founding.py: ceph-fuse OOM-killed, restarted
with ``nonempty``, the pod's bind left on dead connection 39) runs through the real chain against
the fake API server and a node agent answering as the real one does; the rules are parsed from
the YAML below, so the mechanism is tested whatever state the shipped zh texts are in. The
English and Chinese texts below are ours, written for this test.
"""

from __future__ import annotations

import re
from pathlib import Path

from podsleuth.config import NodeAgentSettings
from podsleuth.diagnose.diagnoser import Diagnoser
from podsleuth.diagnose.diagnosis import Diagnosis
from podsleuth.diagnose.evidence import DiagnosisRequest
from podsleuth.diagnose.knowledge import KnowledgeBase
from podsleuth.diagnose.rules import parse_rules
from podsleuth.locale import localize
from tests.diagnose.chain import founding
from tests.diagnose.chain.conftest import NODE, Cluster, FakeAgent

RULE = """
rules:
- id: stale-bind-test
  cause: stale-fuse-bind-after-daemon-restart
  categories: [container-start]
  node_facts: true
  when: [{fact: fuse_daemon_restarted, is: true}]
  confidence: 0.8
  summary: "pod {namespace}/{pod} on node {node} is bound to dead FUSE connection {fuse_connection|?} of a
    daemon that was {oom_clause|}restarted{nonempty_clause|}"
  root_cause: "The FUSE daemon died{oom_because|} and was restarted over the old mount point."
  remediation:
  - "Delete pod {namespace}/{pod} on node {node}."
  - {text: "Raise the memory limit of {plugin_pod}.", requires: [daemon_oom_killed]}
  - {text: "Never shown: {pod}.", requires: [no_such_fact]}
  next_checks:
  - "On node {node}: `findmnt -T {volume_mount_path|<path>}`"
  zh:
    summary: "节点 {node} 上的 Pod {namespace}/{pod} 仍绑定在已失效的 FUSE 连接 {fuse_connection|?}
      上，其守护进程{oom_clause|}重启{nonempty_clause|}"
    root_cause: "FUSE 守护进程已退出{oom_because|}，并在原挂载点上被重新启动。"
    remediation:
    - "删除节点 {node} 上的 Pod {namespace}/{pod}。"
    - "调高 {plugin_pod} 的内存限制。"
    - "不应出现：{pod}。"
    next_checks:
    - "在节点 {node} 上执行 `findmnt -T {volume_mount_path|<路径>}`"
contradictions:
- id: always-test
  when: [{fact: node, present: true}]
  lower: 0.1
  say: "node {node} was asked twice"
  zh: {say: "节点 {node} 被问了两次"}
"""
_CJK = re.compile(r"[\u4e00-\u9fff]")


async def _diagnose(cluster: Cluster, tmp_path: Path, rules_yaml: str) -> Diagnosis:
    cluster.put("pods", founding.plugin_pod())
    for plural, obj in founding.objects(1):
        cluster.put(plural, obj)
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    fields = founding.subject_fields(1)
    signature = KnowledgeBase.default().signature_of(fields["message"], fields["reason"])
    subject = DiagnosisRequest(**fields, signature=signature)
    async with FakeAgent(founding.findings(range(1, 2)), {founding.uid(1): founding.mounts(1)}) as agent:
        cluster.agents = NodeAgentSettings(discovery="static", urls={NODE: agent.url}, token_file=str(token))
        rules = parse_rules(rules_yaml, source="test")
        return await Diagnoser(client=cluster.client, agents=cluster.agents, rules=rules).diagnose(subject)


async def test_zh_texts_come_from_the_rule_zh_block(cluster: Cluster, tmp_path: Path) -> None:
    d = await _diagnose(cluster, tmp_path, RULE)
    assert d.rule == "stale-bind-test" and d.root_cause == "stale-fuse-bind-after-daemon-restart"
    zh = d.translations["zh"]
    pod = "shop/app1-5f7b9c8d4-x1"
    # English: the English phrase facts; Chinese: the Chinese ones, never mixed
    assert d.summary.startswith(f"pod {pod} on node {NODE} is bound to dead FUSE connection 39 of a daemon")
    assert "OOM-killed and restarted with -o nonempty" in d.summary
    assert zh.summary.startswith(
        f"节点 {NODE} 上的 Pod {pod} 仍绑定在已失效的 FUSE 连接 39 上，其守护进程因 OOM-kill 而重启"
    )
    assert "重启，且带 -o nonempty 参数" in zh.summary
    assert "OOM-killed" not in zh.summary and not _CJK.search(d.summary)
    assert "(the kernel OOM-killed ceph-fuse pid 4100 at " in d.explanation
    assert zh.explanation.startswith("FUSE 守护进程已退出（内核在 ")
    assert "OOM-kill 了 ceph-fuse，pid 4100）" in zh.explanation
    # remediation pairs with the English: the same steps, ``requires`` decided once for both
    assert d.remediation == [
        f"Delete pod {pod} on node {NODE}.",
        "Raise the memory limit of ceph-csi/csi-cephfsplugin-7xk2p.",
    ]
    assert zh.remediation == [
        f"删除节点 {NODE} 上的 Pod {pod}。",
        "调高 ceph-csi/csi-cephfsplugin-7xk2p 的内存限制。",
    ]
    assert zh.next_checks[0] == f"在节点 {NODE} 上执行 `findmnt -T {founding.mount_path(1)}`"
    assert d.next_checks and d.next_checks[0] == f"On node {NODE}: `findmnt -T {founding.mount_path(1)}`"
    # the contradiction: said in both languages, also at the end of both summaries
    assert [c.said for c in d.contradictions or []] == [f"node {NODE} was asked twice"]
    assert zh.contradictions == [f"节点 {NODE} 被问了两次"]
    assert d.summary.endswith(f" - but: node {NODE} was asked twice")
    assert zh.summary.endswith(f"——但：节点 {NODE} 被问了两次")
    # evidence: one zh fact per item, in order; the diagnoser's own sentences are Chinese
    assert len(zh.evidence) == len(d.evidence)
    assert zh.evidence[0].startswith("消息与已知故障 ")
    assert zh.evidence[-1] == f"节点 {NODE} 被问了两次" and d.evidence[-1].source == "contradiction"


async def test_localize_shows_the_zh_texts(cluster: Cluster, tmp_path: Path) -> None:
    d = await _diagnose(cluster, tmp_path, RULE)
    zh = d.translations["zh"]
    shown = localize(d.to_dict(), "zh")
    assert shown is not None and shown["locale"] == "zh"
    assert (shown["summary"], shown["explanation"]) == (zh.summary, zh.explanation)
    assert shown["remediation"] == zh.remediation and shown["next_checks"] == zh.next_checks
    assert [e["fact"] for e in shown["evidence"]] == zh.evidence
    assert [e["source"] for e in shown["evidence"]] == [e.source for e in d.evidence]
    assert shown["root_cause"] == d.root_cause and shown["rule"] == d.rule


async def test_a_rule_without_zh_falls_back_to_its_english(cluster: Cluster, tmp_path: Path) -> None:
    head, _, _ = RULE.partition("  zh:\n")
    _, _, tail = RULE.partition("contradictions:")
    english_only = head + "contradictions:" + tail.replace('  zh: {say: "节点 {node} 被问了两次"}\n', "")
    assert "zh:" not in english_only
    d = await _diagnose(cluster, tmp_path, english_only)
    zh = d.translations["zh"]
    assert zh.summary == d.summary and zh.explanation == d.explanation
    assert zh.remediation == d.remediation and zh.contradictions == [c.said for c in d.contradictions or []]
    # the diagnoser's own evidence sentences are still Chinese: per entry, not per diagnosis
    assert zh.evidence[0].startswith("消息与已知故障 ")
