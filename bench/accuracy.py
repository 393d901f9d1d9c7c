"""Accuracy of podsleuth on the gathered corpus, through the real command paths.

Runs every corpus runner beside this file — ``accuracy_messages.py`` (``diagnose messages``),
``accuracy_kernel.py`` (``node check --kernel-log``) and ``accuracy_pods.py`` (objects served by
the fake API server to ``watch``) — and prints each one's figures and misses, then one summary
table. The corpus lives in ``tests/corpus/<kind>/``; every case names its public source.

    python3 bench/accuracy.py [--kind messages|kernel|pods ...] [--json]

The floors the test suite enforces are in ``tests/corpus/<kind>/floors.yaml``; the figures and
what is still missed are written up in ``docs/accuracy.md``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent / "tests" / "corpus"
KINDS = ("messages", "kernel", "pods", "situations")


def load_runner(kind: str) -> ModuleType:
    """Import ``bench/accuracy_<kind>.py`` by path: ``bench/`` is scripts, not a package."""
    path = HERE / f"accuracy_{kind}.py"
    spec = importlib.util.spec_from_file_location(f"podsleuth_accuracy_{kind}", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"accuracy: cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def print_report(runner: ModuleType, report: dict[str, Any]) -> None:
    """The runner's own report when it has one, else its metrics and every miss."""
    own = getattr(runner, "print_report", None)
    if callable(own):
        own(report)
        return
    for name, value in sorted(report["metrics"].items()):
        print(f"  {name:<40} {value:.3f}")
    for miss in report["misses"]:
        print("  MISS " + json.dumps(miss, ensure_ascii=False)[:400])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", action="append", choices=KINDS, help="only these corpora")
    parser.add_argument("--json", action="store_true", help="one JSON report per corpus on stdout")
    args = parser.parse_args(argv)
    reports: list[dict[str, Any]] = []
    for kind in args.kind or KINDS:
        runner = load_runner(kind)
        started = time.perf_counter()
        report = runner.evaluate(CORPUS / kind)
        report["seconds"] = round(time.perf_counter() - started, 2)
        reports.append(report)
        if args.json:
            print(json.dumps(report, ensure_ascii=False))
        else:
            print(f"\n=== {kind}: {report['cases']} cases, {report['seconds']} s ===")
            print_report(runner, report)
    if not args.json:
        print("\n=== summary ===")
        for report in reports:
            figures = ", ".join(f"{name} {value:.3f}" for name, value in sorted(report["metrics"].items()))
            misses = len(report["misses"])
            print(f"{report['kind']:<9} {report['cases']:>5} cases  misses {misses:>4}  {figures}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
