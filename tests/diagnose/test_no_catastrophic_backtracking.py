"""No input crashes the matcher, and hostile input is classified in bounded time.

Event messages are attacker-influenced (a container's termination message, an image name), and
the watcher classifies every one of them: one pathological regex would stall the pipeline.
"""

from __future__ import annotations

import json
import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podsleuth.diagnose.categories import CATEGORIES, UNKNOWN
from podsleuth.diagnose.extractors import EXTRACTORS
from podsleuth.diagnose.knowledge import KnowledgeBase
from podsleuth.diagnose.matcher import MAX_SCAN

KB = KnowledgeBase.default()
LIMIT_S = 0.5
SIZE = 100 * 1024


def _literal_runs(pattern: str) -> list[str]:
    """The literal stretches of a regex source: the text a hostile message would repeat."""
    runs = re.split(r"\\[dDsSwWbB]|[\\()\[\]{}?*+|^$.]", pattern)
    return [r for r in runs if len(r) >= 3]


def _fragments() -> list[str]:
    frags: set[str] = {'"', "\\", '\\"', "/", "0", "a", " ", ":", "(", "[", "`", "/a", "pod", "~"}
    for sig in KB.signatures:
        frags.update(sig.keywords)
        for p in (*sig.patterns, *sig.require):
            frags.update(_literal_runs(p))
    return sorted(frags)


FRAGMENTS = _fragments()


def _check(result_json: dict[str, object]) -> None:
    json.dumps(result_json)  # facts stay JSON-serialisable


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=2000), reason=st.one_of(st.none(), st.text(max_size=40)))
def test_arbitrary_text_never_crashes(text: str, reason: str | None) -> None:
    r = KB.classify(text, reason)
    assert r.category in CATEGORIES or r.category == UNKNOWN
    assert 0.0 <= r.score <= 1.0
    scores = [s for _, s in r.candidates]
    assert scores == sorted(scores, reverse=True)
    _check(r.to_json())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    parts=st.lists(st.sampled_from(FRAGMENTS), max_size=60),
    seps=st.sampled_from(["", " ", "/", ": ", "\n", '"']),
)
def test_pattern_fragment_soup_never_crashes(parts: list[str], seps: str) -> None:
    text = seps.join(parts)
    r = KB.classify(text)
    _check(r.to_json())
    assert KB.signature_of(text) == r.signature


@pytest.mark.parametrize("sep", ["", " ", "/", ": "])
def test_repeated_fragments_are_fast(sep: str) -> None:
    worst = (0.0, "")
    for frag in FRAGMENTS:
        unit = frag + sep
        text = unit * (SIZE // len(unit) + 1)
        t0 = time.perf_counter()
        KB.classify(text, reason="RunContainerError")
        elapsed = time.perf_counter() - t0
        worst = max(worst, (elapsed, frag))
    assert worst[0] < LIMIT_S, f"{worst[1]!r} repeated to 100 KB took {worst[0]:.3f}s"


@pytest.mark.parametrize("sig_id", [s.id for s in KB.signatures])
def test_each_pattern_is_linear_on_its_own_fragments(sig_id: str) -> None:
    """Bypass the head/tail cut: every pattern on MAX_SCAN characters of its own literals."""
    sig = KB.get(sig_id)
    assert sig is not None
    sources = (*sig.patterns, *sig.require, *sig.exclude)
    frags = {f for p in sources for f in _literal_runs(p)} | set(sig.keywords) | {"/a", '\\"', "0"}
    for p in sources:
        rx = re.compile(p)
        for frag in frags:
            for sep in ("", " ", "/"):
                unit = frag + sep
                text = unit * (MAX_SCAN // len(unit) + 1)
                t0 = time.perf_counter()
                rx.search(text)
                elapsed = time.perf_counter() - t0
                assert elapsed < LIMIT_S, f"{p!r} on {frag!r}x{len(text)} took {elapsed:.3f}s"


@pytest.mark.parametrize("name", sorted(EXTRACTORS))
def test_fact_extractors_are_linear(name: str) -> None:
    extractor = EXTRACTORS[name]
    for unit in (
        "/pods/",
        "/a",
        "0/1 nodes are available: ",
        "1 x, ",
        "//deleted",
        'mounting "',
        "Killed process 1 (",
        'failed to pull image "',
        "flags: ",
        "mount src=a, ",
        "no such file or directory ",
        "[",
        "pod",
    ):
        text = unit * (MAX_SCAN // len(unit) + 1)
        t0 = time.perf_counter()
        extractor(text, text.lower())
        elapsed = time.perf_counter() - t0
        assert elapsed < LIMIT_S, f"{name} on {unit!r} took {elapsed:.3f}s"


def test_huge_message_keeps_head_and_tail() -> None:
    """A cut message is still recognised when the signal is at either end."""
    head = (
        "error mounting "
        '"/data/k/kubelet/pods/3f9a0c1e-77d2-4a8b-9c3d-2e1f0a9b8c7d/volumes/kubernetes.io~csi/pv1/mount"'
    )
    tail = ": mount through procfd: no such file or directory"
    r = KB.classify(head + "x" * SIZE + tail)
    assert r.signature == "runc-procfd-enoent-stale-fuse-csi-bind"
