"""The deadline heap: reschedule, cancel and due-popping with lazy deletion."""

from __future__ import annotations

from podsleuth.detect.timers import Timers
from tests.detect.builders import at


def test_schedule_reschedule_cancel_pop() -> None:
    t = Timers()
    assert t.next_deadline() is None
    t.schedule("a", at(30))
    t.schedule("b", at(10))
    t.schedule("b", at(20))  # moved
    t.schedule("c", at(5))
    t.cancel("c")
    assert t.next_deadline() == at(20)
    assert t.pop_due(at(19)) == []
    assert t.pop_due(at(30)) == ["b", "a"]
    assert t.next_deadline() is None and len(t) == 0


def test_heap_stays_bounded_under_rescheduling() -> None:
    t = Timers()
    for i in range(10_000):
        t.schedule("k", at(i))
    assert t.entries < 300
    assert t.pop_due(at(10_000)) == ["k"]
