"""One failure reaching us through different steps takes its category from the message's own
context (``category_when``): the reason it came with first, else the words around the error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from podsleuth.diagnose.knowledge import KnowledgeBase
from podsleuth.errors import KnowledgeBaseError

# containerd's missing-blob error, as it arrives at each step (tests/corpus/messages/containerd.yaml)
SANDBOX = (
    'CreatePodSandbox for pod "helm-install-traefik-djq8p_kube-system(9a0e91e9-083c-4e3e-9d1a-0bc28f6ac697)" '
    "failed: rpc error: code = NotFound desc = failed to create containerd container: error unpacking image: "
    "failed to resolve rootfs: content digest sha256:" + "6c" * 32 + ": not found"
)
CONTAINER = (
    'level=error msg="CreateContainer within sandbox \\"4ecd81da\\" for '
    '&ContainerMetadata{Name:kube-apiserver,Attempt:0,} failed" error="failed to create containerd '
    'container: error unpacking image: content digest '
    "sha256:" + "31" * 32 + ': not found"'
)
PULL = (
    'failed to pull and unpack image "docker.io/appscode/kubed:v0.11.0": failed to unpack image on '
    "snapshotter overlayfs: content digest sha256:" + "6e" * 32 + ": not found"
)
# containerd's CRI log of a failed sandbox: the step is in msg=, the error in error=
RUN_SANDBOX = (
    'time="2021-03-01T10:00:00Z" level=error msg="RunPodSandbox for &PodSandboxMetadata{Name:web-0,'
    'Uid:1f0e,Namespace:default,Attempt:0,} failed, error" error="failed to create containerd container: '
    'error unpacking image: content digest sha256:' + "6c" * 32 + ': not found"'
)
# a `kubectl describe` paste: the row's Reason column is the reason
DESCRIBE = (
    "Events:\n  Type     Reason                  Age   From     Message\n"
    "  ----     ------                  ----  ----     -------\n"
    "  Normal   Scheduled               20s   default-scheduler  Successfully assigned default/web-0 to n1\n"
    "  Warning  FailedCreatePodSandBox  10s   kubelet  Failed to create pod sandbox: rpc error: "
    "code = NotFound desc = failed to create containerd container: error unpacking image: "
    "content digest sha256:" + "6c" * 32 + ": not found\n"
)
BARE = "error unpacking image: content digest sha256:" + "6e" * 32 + ": not found"


@pytest.mark.parametrize(("message", "reason", "category"), [
    (SANDBOX, None, "sandbox"),
    (CONTAINER, None, "container-start"),
    (RUN_SANDBOX, None, "sandbox"),
    (DESCRIBE, None, "sandbox"),
    (PULL, None, "image-pull"),
    (PULL, "ErrImagePull", "image-pull"),
    # the reason is the step that failed: it wins over the words
    (BARE, "FailedCreatePodSandBox", "sandbox"),
    (CONTAINER, "FailedCreatePodSandBox", "sandbox"),
    (BARE, "CreateContainerError", "container-start"),
    (BARE, "Init:CreateContainerError", "init-failure"),
    (BARE, None, "image-pull"),
])
def test_the_packaged_signature_picks_its_category_from_context(
    message: str, reason: str | None, category: str
) -> None:
    c = KnowledgeBase.default().classify(message, reason)
    assert (c.signature, c.category) == ("image-content-store-corrupt", category)


def _entry(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "test-sig", "category": "image-pull", "family": "test", "priority": 50,
        "keywords": ["boom"], "patterns": ["boom"], "summary": "boom", "root_cause": "things go boom",
    }
    base.update(overrides)
    return base


def _kb(tmp_path: Path, **overrides: Any) -> KnowledgeBase:
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump({"signatures": [_entry(**overrides)]}), encoding="utf-8")
    return KnowledgeBase.from_files([p])


def test_rules_apply_in_order_and_a_rule_reason_confirms_the_signature(tmp_path: Path) -> None:
    kb = _kb(tmp_path, reasons=["ErrImagePull"], category_when=[
        {"category": "sandbox", "match": "sandbox"},
        {"category": "container-start", "match": "container", "reasons": ["CreateContainerError"]},
    ])
    assert kb.classify("boom in the sandbox container").category == "sandbox"
    assert kb.classify("boom in the container").category == "container-start"
    assert kb.classify("boom in the sandbox", "CreateContainerError").category == "container-start"
    assert kb.classify("boom").category == "image-pull"
    # a rule's reason is one the signature expects: no contradiction penalty
    assert kb.classify("boom", "CreateContainerError").score == kb.classify("boom", "ErrImagePull").score
    assert kb.classify("boom", "CreateContainerError").score > kb.classify("boom", "FailedMount").score


@pytest.mark.parametrize(("rules", "expected"), [
    ([{"category": "sandbox"}], "needs reasons or match"),
    ([{"category": "volume-stuff", "match": "x"}], "unknown category 'volume-stuff'"),
    ([{"category": "sandbox", "match": "(unclosed"}], "bad regex"),
    ([{"category": "image-pull", "match": "x"}], "own category 'image-pull'"),
    ([{"category": "sandbox", "match": "x", "when": "always"}], "Extra inputs are not permitted"),
])
def test_bad_rules_are_refused_on_load(tmp_path: Path, rules: list[dict[str, Any]], expected: str) -> None:
    with pytest.raises(KnowledgeBaseError, match="entry 1 \\(id 'test-sig'\\)") as e:
        _kb(tmp_path, category_when=rules)
    assert expected in str(e.value)
