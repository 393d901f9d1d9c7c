"""Floor test: ``node check --kernel-log`` on the gathered kernel-log corpus must not fall below the
floors in ``tests/corpus/kernel/floors.yaml`` (100% of OOM victims, none invented, pod/container
mapping, other kernel kinds). Runs the real CLI once per case through ``bench/accuracy_kernel.py``."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from tests.corpus import floors

CORPUS = floors.corpus("kernel")


def _runner() -> ModuleType:
    return floors.runner("kernel")


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    result: dict[str, Any] = _runner().evaluate(CORPUS)
    return result


def test_every_case_is_sourced_and_well_formed() -> None:
    cases = _runner().load_cases(CORPUS)  # raises on a case without source, form or expect
    assert all(str(c["source"]).strip() for c in cases)
    victims = [e for c in cases for e in c["expect"] if e.get("kind") == "oom-kill"]
    assert all(isinstance(e.get("pid"), int) for e in victims)
    forms = {c["form"] for c in cases}
    assert {"dmesg", "dmesg-T", "iso", "journald-k", "kmsg", "bare"} <= forms


def test_accuracy_at_or_above_floors(report: dict[str, Any]) -> None:
    floors.assert_at_or_above_floors("kernel", report)
    assert report["metrics"]["oom_invented"] == 0, report["misses"]
