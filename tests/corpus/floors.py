"""What every corpus floor test shares: the runner of a corpus (``bench/accuracy_<kind>.py``,
loaded through ``bench/accuracy.py``, the one loader of runners) and the check of a report
against ``tests/corpus/<kind>/floors.yaml``."""

from __future__ import annotations

import importlib.util
import pathlib
import re
from types import ModuleType
from typing import Any

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOURCE = re.compile(r"^(https?://\S+|[\w.-]+/[\w.-]+(@\S+)?:\S+)$")
"""A URL, or owner/repo[@ref]:path[:line] for source code (tests/corpus layout)."""


def corpus(kind: str) -> pathlib.Path:
    return ROOT / "tests" / "corpus" / kind


def runner(kind: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location("podsleuth_bench_accuracy", ROOT / "bench" / "accuracy.py")
    assert spec is not None and spec.loader is not None
    accuracy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(accuracy)
    loaded: ModuleType = accuracy.load_runner(kind)
    return loaded


def floors(kind: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((corpus(kind) / "floors.yaml").read_text(encoding="utf-8"))
    return loaded


def assert_at_or_above_floors(kind: str, report: dict[str, Any]) -> dict[str, Any]:
    """Every metric the floors name is at least its floor, and the corpus at least its size;
    returns the floors for the kind's own extra checks."""
    wanted = floors(kind)
    metrics = report["metrics"]
    unknown = {k for k in wanted if not k.startswith("min_") and k not in metrics}
    assert not unknown, f"floors.yaml names metrics the runner does not report: {sorted(unknown)}"
    below = {k: (metrics[k], v) for k, v in wanted.items() if k in metrics and metrics[k] < v}
    assert not below, f"accuracy below floor (measured, floor): {below}; misses: {report['misses']}"
    assert report["cases"] >= wanted.get("min_cases", 1)
    return wanted
