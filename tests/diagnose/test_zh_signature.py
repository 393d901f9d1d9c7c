"""A diagnosis from a signature alone carries the signature's ``zh:`` texts (issue 18).

Both places a signature's texts become a diagnosis: the watch's first diagnosis
(``first_diagnosis``) and the chain's fallback when no decision rule matches (``conclude``),
with a knowledge base loaded from the YAML below (our own texts, written for this test), so
the mechanism is tested whatever state the shipped translations are in. The message is
kubelet's wording (kubernetes/kubernetes pkg/kubelet/kubelet_pods.go, "failed to prepare subPath
for volumeMount %q of container %q").
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from podsleuth.config import NodeAgentSettings
from podsleuth.diagnose.diagnoser import Diagnoser
from podsleuth.diagnose.evidence import DiagnosisRequest
from podsleuth.diagnose.incident import first_diagnosis
from podsleuth.diagnose.knowledge import KnowledgeBase
from podsleuth.diagnose.rules import parse_rules

SIGNATURES = """
signatures:
- id: test-subpath
  category: container-config
  family: volume/subpath
  priority: 70
  reasons: [CreateContainerConfigError]
  keywords: [failed to prepare subpath]
  patterns:
  - 'failed to prepare subPath for volumeMount "(?P<volume>[^"]{1,253})" of container
    "(?P<container>[^"]{1,253})"'
  summary: kubelet could not prepare the subPath of volume {volume} for container {container}
  root_cause: kubelet could not bind-mount the subPath into volume-subpaths/.
  remediation:
  - 'Unmount the stale subPath bind mounts of volume {volume|the volume}, then delete the pod.'
  next_checks:
    node: ['`grep volume-subpaths /proc/self/mountinfo`']
  zh:
    summary: kubelet 无法为容器 {container} 准备卷 {volume} 的 subPath
    root_cause: kubelet 无法把 subPath 以 bind 方式挂载到 volume-subpaths/ 下。
    remediation: ['卸载卷 {volume|该卷} 遗留的 subPath bind 挂载，然后删除 Pod。']
    next_checks:
      node: ['在节点上执行 `grep volume-subpaths /proc/self/mountinfo`']
"""
MESSAGE = 'failed to prepare subPath for volumeMount "data" of container "app"'


class _Incident(msgspec.Struct, frozen=True):
    message: str
    reason: str
    signature: str | None


def _kb(tmp_path: Path, text: str = SIGNATURES) -> KnowledgeBase:
    path = tmp_path / "test.yaml"
    path.write_text(text, encoding="utf-8")
    return KnowledgeBase.from_files([path])


def test_first_diagnosis_carries_the_signature_zh(tmp_path: Path) -> None:
    d = first_diagnosis(_Incident(MESSAGE, "CreateContainerConfigError", "test-subpath"), _kb(tmp_path))
    assert d is not None and not d.full
    assert d.summary == "kubelet could not prepare the subPath of volume data for container app"
    zh = d.translations["zh"]
    assert zh.summary == "kubelet 无法为容器 app 准备卷 data 的 subPath"
    assert zh.explanation == "kubelet 无法把 subPath 以 bind 方式挂载到 volume-subpaths/ 下。"
    # the steps' placeholders are filled from the facts too
    assert zh.remediation == ["卸载卷 data 遗留的 subPath bind 挂载，然后删除 Pod。"]
    assert d.remediation == ["Unmount the stale subPath bind mounts of volume data, then delete the pod."]
    assert zh.evidence == ["消息与已知故障 'test-subpath' 匹配", "可以确认它的检查"]
    assert [e.fact for e in d.evidence] == ["the message matches the known failure 'test-subpath'",
                                            "checks that would confirm it"]  # fmt: skip


async def test_signature_fallback_of_the_chain_in_zh(tmp_path: Path) -> None:
    subject = DiagnosisRequest(
        category="container-config",
        reason="CreateContainerConfigError",
        message=MESSAGE,
        namespace="shop",
        pod="web-1",
        signature="test-subpath",
    )
    diagnoser = Diagnoser(
        client=None,
        agents=NodeAgentSettings(discovery="off"),
        knowledge=_kb(tmp_path),
        rules=parse_rules("rules: []"),
    )
    d = await diagnoser.diagnose(subject)
    zh = d.translations["zh"]
    assert d.rule is None and d.full and d.root_cause == "test-subpath"
    # the message's own error follows the catalogue's generic wording, joined the language's way
    assert d.summary == f"kubelet could not prepare the subPath of volume data for container app - {MESSAGE}"
    assert zh.summary == f"kubelet 无法为容器 app 准备卷 data 的 subPath：{MESSAGE}"
    assert zh.next_checks == ["在节点上执行 `grep volume-subpaths /proc/self/mountinfo`"]
    assert d.next_checks == ["`grep volume-subpaths /proc/self/mountinfo`"]
    assert len(zh.evidence) == len(d.evidence) and zh.evidence[0].startswith(
        "消息与已知故障 'test-subpath' 匹配：kubelet 无法"
    )


async def test_a_signature_without_zh_gives_its_english(tmp_path: Path) -> None:
    english_only = SIGNATURES.partition("  zh:\n")[0]
    subject = DiagnosisRequest(
        category="container-config", reason="CreateContainerConfigError", message=MESSAGE
    )
    kb = _kb(tmp_path, english_only)
    agents = NodeAgentSettings(discovery="off")
    diagnoser = Diagnoser(client=None, agents=agents, knowledge=kb, rules=parse_rules("rules: []"))
    d = await diagnoser.diagnose(subject)
    zh = d.translations["zh"]
    assert (zh.summary, zh.explanation, zh.remediation) == (d.summary, d.explanation, d.remediation)
    assert " - " + MESSAGE in zh.summary, "an English summary keeps the English joint"
