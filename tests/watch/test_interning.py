"""Cached pods share repeated strings, label sets and timestamps, without changing any value."""

from __future__ import annotations

import msgspec

from podsleuth.lab.sample_pods import sample_pod
from podsleuth.watch.interning import EVENTS_PER_PASS, QUIET_READ, UNSHARED_MAX, Deferred, Interner
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


def _modified(i: int, rv: str, **labels: str) -> Pod:
    raw = sample_pod(i)
    raw["metadata"]["resourceVersion"] = rv
    raw["metadata"]["labels"] = {**raw["metadata"]["labels"], **labels}
    return _decode(raw)


def test_modified_pods_are_shared_in_one_pass_once_the_stream_repeats_them() -> None:
    interner = Interner()
    deferred = Deferred(interner)
    old = interner.pod(_decode(sample_pod(3)))
    key = (old.metadata.namespace, old.metadata.name)
    cache = {key: old}
    rv = 1000
    for _ in range(-(-EVENTS_PER_PASS // (QUIET_READ + 1))):
        assert not deferred.due()
        for _ in range(QUIET_READ + 1):  # a busy read: the same pod changes again and again
            cache[key] = _modified(3, str(rv))
            rv += 1
            deferred.keys[key] = None
            deferred.events += 1
    assert deferred.due()
    new = cache[key]
    assert new.metadata.labels is not old.metadata.labels
    assert deferred.share(cache) == 1
    assert new == _modified(3, str(rv - 1)), "sharing must not change values"
    assert new.metadata.labels is old.metadata.labels
    assert new.metadata.creation_timestamp is old.metadata.creation_timestamp
    assert not deferred.keys and not deferred.due()


def test_a_quiet_stream_shares_what_waits_after_each_small_read() -> None:
    """A quiet cluster: a few MODIFIED events per read, each a different pod. Waiting for 32
    events per pod or for ``UNSHARED_MAX`` pods would keep them unshared for hours."""
    deferred = Deferred(Interner())
    assert not deferred.due()
    for i in range(QUIET_READ):
        deferred.keys[("ns", f"pod-{i}")] = None
        deferred.events += 1
    assert deferred.due()
    deferred.clear()
    for i in range(QUIET_READ + 1):  # a busy read of distinct pods: keep deferring
        deferred.keys[("ns", f"pod-{i}")] = None
        deferred.events += 1
    assert not deferred.due()


def test_changed_labels_are_not_shared_with_the_old_version() -> None:
    interner = Interner()
    deferred = Deferred(interner)
    old = interner.pod(_decode(sample_pod(3)))
    key = (old.metadata.namespace, old.metadata.name)
    cache = {key: _modified(3, "999999", canary="true")}
    deferred.keys[key] = None
    deferred.share(cache)
    new = cache[key]
    assert new.metadata.labels is not old.metadata.labels
    assert (new.metadata.labels or {})["canary"] == "true"
    assert new.metadata.namespace is old.metadata.namespace


def test_waiting_pods_are_bounded_even_when_each_changes_once() -> None:
    deferred = Deferred(Interner())
    for i in range(UNSHARED_MAX - 1):
        deferred.keys[("ns", f"pod-{i}")] = None
        deferred.events += 1
    assert not deferred.due()
    deferred.keys[("ns", "one-more")] = None
    assert deferred.due()
    assert deferred.share({}) == 0, "deleted meanwhile: nothing left to share"
    assert not deferred.keys
