"""Every message example of the brief's catalogue is recognised as its own signature.

The catalogue (``shared/brief/signatures.json``, beside the repository) is read at test time so
that the knowledge base cannot drift from it silently.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from podsleuth.diagnose.knowledge import KnowledgeBase

CATALOGUE = Path(__file__).parents[3] / "shared" / "brief" / "signatures.json"

#: Catalogue entries with no failure message to match.
EXCLUDED_ENTRIES = {
    "kubelet-volume-layout-reference": "reference list of kubelet paths, not a failure message "
    "(the layout is decoded by podsleuth.diagnose.extractors.kubelet_paths)",
}

#: (entry id, example index) that are not a matchable message.
EXCLUDED_EXAMPLES = {
    (
        "runc-procfd-enoent-stale-fuse-csi-bind",
        2,
    ): "a GitHub issue title paraphrasing the error, without the path",
    ("runc-procfd-enoent-stale-fuse-csi-bind", 3): "a findmnt transcript: node evidence, checked below as "
    "mountinfo-deleted-bind-root",
    ("kernel-oom-memcg-v1-csi-plugin", 1): "a GitHub issue title in prose",
}

#: A more specific signature may outrank an entry that describes only a wording, never a cause.
MAY_BE_OUTRANKED_BY = {
    # wording-only entries: their reconstructed CSI/ENOENT and ENOTDIR examples have a cause
    # entry, and the brief requires the stale-CSI signature to win for a runc ENOENT on a CSI path
    "runc-1.1-via-procfd-enoent": {"runc-procfd-enoent-stale-fuse-csi-bind"},
    "runc-1.2-dstfd-format": {"runc-procfd-enoent-stale-fuse-csi-bind", "runc-not-a-directory-file-vs-dir"},
    # the same ContainerCannotRun text is listed under the docker entry that names its cause
    "container-cannot-run-dockershim": {"docker-mount-source-mkdir-file-exists"},
    # the same FailedScheduling example is listed under both entries
    "scheduling-taints": {"scheduling-insufficient-resources"},
    # a FailedScheduling text naming several filters is reported as the filter that ruled out
    # the most nodes (matcher._by_nodes_ruled_out): "1 Insufficient cpu, 3 node(s) didn't
    # match node selector" is a node-selector problem first
    "scheduling-insufficient-resources": {"scheduling-node-affinity"},
}

_ANNOTATION_RE = re.compile(r"\s{2,}\[[^\]]*\]\s*$")
_PLACEHOLDERS = {
    "uid": "6f1d2c3b-9a8e-4b7c-8d6e-5f4a3b2c1d0e",
    "uuid": "0b9f7c2e-1d3a-4e5f-8a6b-7c8d9e0f1a2b",
    "pv": "pvc-0b9f7c2e-1d3a-4e5f-8a6b-7c8d9e0f1a2b",
    "n": "9",
    "pid": "4242",
    "dst": "/data",
    "comm": "ceph-fuse",
}


def _substitute(text: str) -> str:
    """Placeholders like ``<uid>`` become realistic values; unknown ones a plain token.

    A placeholder stands for a value that every real message carries (``/proc/self/fd/<n>`` is
    always a number), so the patterns are written for values, not for the brief's notation."""
    return re.sub(
        r"<([A-Za-z][\w-]*)>", lambda m: _PLACEHOLDERS.get(m.group(1), f"x{len(m.group(1))}a7"), text
    )


def _examples() -> list[Any]:
    entries = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    out = []
    for e in entries:
        if e["id"] in EXCLUDED_ENTRIES:
            continue
        for i, raw in enumerate(e["message_examples"]):
            if (e["id"], i) in EXCLUDED_EXAMPLES:
                continue
            text = _substitute(_ANNOTATION_RE.sub("", raw))
            out.append(pytest.param(e["id"], text, id=f"{e['id']}[{i}]"))
    return out


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.default()


def test_catalogue_is_beside_the_repository() -> None:
    assert CATALOGUE.is_file(), f"expected the brief's catalogue at {CATALOGUE}"


@pytest.mark.parametrize(("entry_id", "message"), _examples())
def test_example_matches_its_entry(kb: KnowledgeBase, entry_id: str, message: str) -> None:
    result = kb.classify(message)
    ranked = [s for s, _ in result.candidates]
    assert entry_id in ranked, f"{entry_id} not among candidates {result.candidates} for {message!r}"
    if result.signature != entry_id:
        assert result.signature in MAY_BE_OUTRANKED_BY.get(entry_id, set()), (
            f"{entry_id} outranked by {result.signature} for {message!r}"
        )


def test_every_catalogue_entry_is_in_the_knowledge_base(kb: KnowledgeBase) -> None:
    entries = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    missing = [e["id"] for e in entries if e["id"] not in EXCLUDED_ENTRIES and kb.get(e["id"]) is None]
    assert missing == []


def test_knowledge_base_carries_the_catalogue_knowledge(kb: KnowledgeBase) -> None:
    """Root cause and evidence come from the catalogue, not re-typed by hand."""
    for e in json.loads(CATALOGUE.read_text(encoding="utf-8")):
        sig = kb.get(e["id"])
        if sig is None:
            continue
        if sig.root_cause != e["root_cause"].strip():
            # authoring notes of the catalogue (wording generations, PRs, source files) are moved
            # verbatim to `notes:`, out of what a user reads (issue 13); anything else is drift
            moved = [n for n in sig.notes if n in e["root_cause"]]
            assert moved, f"{e['id']}: root cause differs from the catalogue and no note carries its text"
        assert list(sig.next_checks.api) == [c.strip() for c in e["evidence_to_collect"]["api"]]
        assert list(sig.next_checks.node) == [c.strip() for c in e["evidence_to_collect"]["node"]]
        assert sig.remediation, e["id"]


def test_findmnt_transcript_is_deleted_root_evidence(kb: KnowledgeBase) -> None:
    entries = {e["id"]: e for e in json.loads(CATALOGUE.read_text(encoding="utf-8"))}
    transcript = entries["runc-procfd-enoent-stale-fuse-csi-bind"]["message_examples"][3]
    result = kb.classify(_substitute(transcript))
    assert result.signature == "mountinfo-deleted-bind-root"
    assert str(result.facts["mount_root"]).endswith("//deleted")
