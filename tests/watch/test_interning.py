"""Cached pods share repeated strings, label sets and timestamps, without changing any value."""

from __future__ import annotations

import msgspec

from podsleuth.lab.sample_pods import sample_pod
from podsleuth.watch.interning import Interner
from podsleuth.watch.objects import Pod


def _decode(obj: dict[str, object]) -> Pod:
    return msgspec.json.decode(msgspec.json.encode(obj), type=Pod)


def test_replicas_share_labels_strings_and_times_and_keep_their_values() -> None:
    interner = Interner()
    raw_a, raw_b = sample_pod(0), sample_pod(7)  # two replicas of Deployment web-0
    a, b = interner.pod(_decode(raw_a)), interner.pod(_decode(raw_b))
    assert a == _decode(raw_a) and b == _decode(raw_b), "interning must not change values"
    assert a.metadata.labels == b.metadata.labels
    assert a.metadata.labels is b.metadata.labels
    assert a.metadata.namespace is b.metadata.namespace
    conds_a, conds_b = a.status.conditions or [], b.status.conditions or []
    assert [c.type for c in conds_a] == [c.type for c in conds_b]
    assert all(x.type is y.type for x, y in zip(conds_a, conds_b, strict=True))


def test_modified_version_takes_over_the_shared_objects() -> None:
    interner = Interner()
    old = interner.pod(_decode(sample_pod(3)))
    raw = sample_pod(3)
    raw["metadata"]["resourceVersion"] = "999999"
    new = interner.carry(old, _decode(raw))
    assert new == _decode(raw)
    assert new.metadata.labels is old.metadata.labels
    assert new.metadata.creation_timestamp is old.metadata.creation_timestamp


def test_changed_labels_are_not_shared() -> None:
    interner = Interner()
    old = interner.pod(_decode(sample_pod(3)))
    raw = sample_pod(3)
    raw["metadata"]["labels"] = {**raw["metadata"]["labels"], "canary": "true"}
    new = interner.carry(old, _decode(raw))
    assert new.metadata.labels is not old.metadata.labels
    assert (new.metadata.labels or {})["canary"] == "true"
