"""Accuracy of ``node check --kernel-log`` on the gathered kernel-log corpus (issue 10).

Every case of ``tests/corpus/kernel/*.yaml`` (real kernel logs quoted in public issue threads,
and the OOM format strings of mm/oom_kill.c / mm/memcontrol.c per kernel generation, each with
its source) goes through the real path, one process per case, several at a time:
``python -m podsleuth node check --kubelet-dir <empty dir> --kernel-log FILE -o json``.  The
kubelet dir is empty so the only findings are the kernel's.

Scored:
* ``oom_victim_recall``: expected OOM victims (by pid) found / expected;
* ``oom_invented``: victims reported that the case does not name (count; 0 is the target) and
  ``oom_precision``;
* ``oom_mapping_accuracy``: found victims whose ``pod_uid`` and ``container_id`` are the expected
  ones (``null`` included: a host process must not be pinned on a pod);
* ``other_recall`` / ``other_precision``: hung tasks, soft lockups, NFS, I/O and filesystem
  errors, compared as (kind, process|server|device).

Run: ``python bench/accuracy_kernel.py [CORPUS_DIR]`` (default ``tests/corpus/kernel``).
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT / "tests" / "corpus" / "kernel"
FORMS = {"dmesg", "dmesg-T", "iso", "journald-k", "kmsg", "bare"}
KERNEL_KINDS = {"oom-kill", "hung-task", "soft-lockup", "nfs-not-responding", "io-error", "fs-error"}
_KEY = {"hung-task": "process", "soft-lockup": "process", "nfs-not-responding": "server",
        "io-error": "device", "fs-error": "device"}
TIMEOUT_S = 60


def load_cases(corpus_dir: pathlib.Path) -> list[dict[str, Any]]:
    """All cases, each tagged with its file; a case without log, form, source or expect list is a
    corpus error, reported loudly rather than skipped."""
    cases: list[dict[str, Any]] = []
    for path in sorted(corpus_dir.glob("*.yaml")):
        if path.name == "floors.yaml":
            continue
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for i, case in enumerate(doc.get("cases") or []):
            where = f"{path.name} case {i + 1}"
            if not isinstance(case, dict) or not isinstance(case.get("log"), str):
                raise ValueError(f"{where}: no log")
            if not case.get("source") or case.get("form") not in FORMS:
                raise ValueError(f"{where}: source and a form of {sorted(FORMS)} are required")
            if not isinstance(case.get("expect"), list):
                raise ValueError(f"{where}: expect must be a list ([] = nothing to find)")
            cases.append({**case, "file": path.name, "index": i + 1})
    return cases


def _run_one(log: str, kubelet_dir: str) -> list[dict[str, Any]]:
    with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False, encoding="utf-8") as f:
        f.write(log)
        path = f.name
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "podsleuth", "node", "check", "--kubelet-dir", kubelet_dir,
             "--kernel-log", path, "-o", "json"],
            capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )
    finally:
        os.unlink(path)
    found = [json.loads(x) for x in proc.stdout.splitlines() if x.strip().startswith("{")]
    if not found and proc.returncode not in (0, 1):
        raise RuntimeError(f"node check exited {proc.returncode}: {proc.stderr[-2000:]}")
    return [f for f in found if f.get("kind") in KERNEL_KINDS]


def run_cli(cases: list[dict[str, Any]], workers: int | None = None) -> list[list[dict[str, Any]]]:
    """Kernel findings of every case through the real CLI; a few processes run side by side."""
    with tempfile.TemporaryDirectory(prefix="podsleuth-kernel-acc-") as kdir:
        n = workers or max(2, min(4, os.cpu_count() or 2))
        with ThreadPoolExecutor(max_workers=n) as pool:
            return list(pool.map(lambda c: _run_one(c["log"], kdir), cases))


def _other_key(kind: str, value: object) -> tuple[str, str]:
    return kind, str(value)


def _found_other(f: dict[str, Any]) -> tuple[str, str]:
    data = f.get("data") or {}
    field = _KEY[f["kind"]]
    value = data.get("comm") if field == "process" else data.get(field)
    return _other_key(f["kind"], value)


def score(cases: list[dict[str, Any]], results: list[list[dict[str, Any]]]) -> dict[str, Any]:
    want_v = got_v = found_v = invented = mapped = 0
    other_want = other_found = other_got = 0
    per_kind: Counter[str] = Counter()
    per_kind_hit: Counter[str] = Counter()
    misses: list[dict[str, Any]] = []
    for case, findings in zip(cases, results, strict=True):
        problems: list[str] = []
        expect = case["expect"]
        oom_list = [f for f in findings if f["kind"] == "oom-kill"]
        ooms = {int((f.get("process") or {}).get("pid") or -1): f for f in oom_list}
        want_ooms = [e for e in expect if e.get("kind") == "oom-kill"]
        want_pids = {int(e["pid"]) for e in want_ooms}
        want_v += len(want_ooms)
        got_v += len(oom_list)
        for e in want_ooms:
            per_kind["oom-kill"] += 1
            f = ooms.get(int(e["pid"]))
            if f is None:
                problems.append(f"victim {e['pid']} ({e.get('process')}) not found")
                continue
            found_v += 1
            per_kind_hit["oom-kill"] += 1
            comm = (f.get("process") or {}).get("comm")
            got_map = (f.get("pod_uid"), (f.get("data") or {}).get("container_id"))
            want_map = (e.get("pod_uid"), e.get("container_id"))
            if e.get("process") is not None and comm != e["process"]:
                problems.append(f"victim {e['pid']}: process {comm!r}, expected {e['process']!r}")
            elif got_map == want_map:
                mapped += 1
            else:
                problems.append(f"victim {e['pid']}: pod/container {got_map}, expected {want_map}")
        for pid in sorted(set(ooms) - want_pids):
            invented += 1
            problems.append(f"invented victim {pid} ({(ooms[pid].get('process') or {}).get('comm')})")
        if len(oom_list) > len(ooms):  # one kill reported twice is an invented second victim
            invented += len(oom_list) - len(ooms)
            problems.append(f"{len(oom_list) - len(ooms)} victim(s) reported more than once")
        want_o = {_other_key(e["kind"], e.get(_KEY[e["kind"]])) for e in expect if e.get("kind") in _KEY}
        got_o = {_found_other(f) for f in findings if f["kind"] in _KEY}
        other_want += len(want_o)
        other_got += len(got_o)
        other_found += len(want_o & got_o)
        for k in want_o:
            per_kind[k[0]] += 1
            per_kind_hit[k[0]] += k in got_o
        problems += [f"{k[0]} {k[1]!r} not found" for k in sorted(want_o - got_o)]
        problems += [f"unexpected {k[0]} {k[1]!r}" for k in sorted(got_o - want_o)]
        if problems:
            misses.append({"case": f"{case['file']}#{case['index']}", "form": case["form"],
                           "kernel": case.get("kernel"), "problems": problems, "source": case["source"]})
    return {
        "kind": "kernel",
        "cases": len(cases),
        "metrics": {
            "oom_victim_recall": found_v / want_v if want_v else 1.0,
            "oom_precision": (got_v - invented) / got_v if got_v else 1.0,
            "oom_invented": float(invented),
            "oom_mapping_accuracy": mapped / found_v if found_v else 1.0,
            "other_recall": other_found / other_want if other_want else 1.0,
            "other_precision": other_found / other_got if other_got else 1.0,
        },
        "counts": {"victims_expected": want_v, "victims_found": found_v, "victims_reported": got_v,
                   "other_expected": other_want, "other_found": other_found, "other_reported": other_got},
        "per_kind": {k: {"recall": per_kind_hit[k] / n, "support": float(n)}
                     for k, n in sorted(per_kind.items())},
        "forms": dict(sorted(Counter(c["form"] for c in cases).items())),
        "misses": misses,
    }


def evaluate(corpus_dir: pathlib.Path = DEFAULT_CORPUS) -> dict[str, Any]:
    cases = load_cases(corpus_dir)
    if not cases:
        raise ValueError(f"no cases under {corpus_dir}")
    return score(cases, run_cli(cases))


def print_report(report: dict[str, Any]) -> None:
    """Figures, per-kind recall and every miss with its source (also used by bench/accuracy.py)."""
    print(f"kernel: {report['cases']} cases; forms {report['forms']}")
    for name, value in report["metrics"].items():
        print(f"  {name:22s} {value:6.0f}" if name == "oom_invented" else f"  {name:22s} {value:6.1%}")
    print(f"  counts: {report['counts']}")
    print(f"  {'kind':22s} {'recall':>7s} {'n':>4s}")
    for kind, m in report["per_kind"].items():
        print(f"  {kind:22s} {m['recall']:7.1%} {int(m['support']):4d}")
    print(f"misses ({len(report['misses'])}):")
    for miss in report["misses"]:
        print(f"- {miss['case']} [{miss['form']}, {miss['kernel']}]: " + "; ".join(miss["problems"]))
        print(f"    source: {miss['source']}")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    print_report(evaluate(pathlib.Path(args[0]) if args else DEFAULT_CORPUS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
