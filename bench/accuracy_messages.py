"""Accuracy of ``diagnose messages`` on the gathered message corpus (issue 10).

Every case of ``tests/corpus/messages/*.yaml`` (real messages from source code, test
expectations and public issue threads, each with its source) goes through the real path, one
subprocess for the whole corpus: ``python -m podsleuth diagnose messages -i FILE -o json``.
Scored: signature accuracy (the expected id, or no specific claim when ``signature: null``),
category accuracy, per-category precision/recall, and every miss with its source.

Run: ``python bench/accuracy_messages.py [CORPUS_DIR]`` (default ``tests/corpus/messages``).
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import tempfile
from collections import Counter
from typing import Any

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT / "tests" / "corpus" / "messages"
#: Signatures that only say "some failure of this kind"; ``signature: null`` cases accept them.
GENERIC_SUFFIX = "-generic"
TIMEOUT_S = 300


def load_cases(corpus_dir: pathlib.Path) -> list[dict[str, Any]]:
    """All cases, each tagged with the file it came from; a case without message or
    category is a corpus error, reported loudly rather than skipped."""
    cases: list[dict[str, Any]] = []
    for path in sorted(corpus_dir.glob("*.yaml")):
        if path.name == "floors.yaml":
            continue
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for i, case in enumerate(doc.get("cases") or []):
            if not isinstance(case, dict) or not isinstance(case.get("message"), str):
                raise ValueError(f"{path.name} case {i + 1}: no message")
            if not case.get("category") or not case.get("source"):
                raise ValueError(f"{path.name} case {i + 1}: category and source are required")
            cases.append({**case, "file": path.name, "index": i + 1})
    return cases


def run_cli(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Classify all cases through the real CLI in one subprocess; one result per case."""
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as f:
        for c in cases:
            line: dict[str, str] = {"message": c["message"]}
            if c.get("reason"):
                line["reason"] = str(c["reason"])
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
        path = f.name
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "podsleuth", "diagnose", "messages", "-i", path, "-o", "json"],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )
    finally:
        os.unlink(path)
    if proc.returncode != 0:
        raise RuntimeError(f"diagnose messages exited {proc.returncode}: {proc.stderr[-2000:]}")
    results = [json.loads(x) for x in proc.stdout.splitlines() if x.strip()]
    if len(results) != len(cases):
        raise RuntimeError(f"{len(cases)} cases in, {len(results)} results out")
    return results


def _signature_ok(expected: str | None, got: str | None) -> bool:
    if expected is None:
        return got is None or got.endswith(GENERIC_SUFFIX)
    return expected == got


def score(cases: list[dict[str, Any]], results: list[dict[str, Any]]) -> dict[str, Any]:
    sig_ok = cat_ok = 0
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    misses: list[dict[str, Any]] = []
    for case, res in zip(cases, results, strict=True):
        want_cat, got_cat = case["category"], res.get("category")
        want_sig, got_sig = case.get("signature"), res.get("signature")
        s_ok, c_ok = _signature_ok(want_sig, got_sig), want_cat == got_cat
        sig_ok += s_ok
        cat_ok += c_ok
        if c_ok:
            tp[want_cat] += 1
        else:
            fn[want_cat] += 1
            fp[str(got_cat)] += 1
        if not (s_ok and c_ok):
            misses.append(
                {
                    "case": f"{case['file']}#{case['index']}",
                    "message": case["message"][:240],
                    "want": {"signature": want_sig, "category": want_cat},
                    "got": {"signature": got_sig, "category": got_cat},
                    "source": case["source"],
                }
            )
    n = len(cases)
    per_category: dict[str, dict[str, float]] = {}
    for cat in sorted(set(tp) | set(fp) | set(fn)):
        p_den, r_den = tp[cat] + fp[cat], tp[cat] + fn[cat]
        per_category[cat] = {
            "precision": tp[cat] / p_den if p_den else 1.0,
            "recall": tp[cat] / r_den if r_den else 1.0,
            "support": float(r_den),
        }
    return {
        "kind": "messages",
        "cases": n,
        "metrics": {
            "signature_accuracy": sig_ok / n if n else 0.0,
            "category_accuracy": cat_ok / n if n else 0.0,
        },
        "per_category": per_category,
        "misses": misses,
    }


def evaluate(corpus_dir: pathlib.Path = DEFAULT_CORPUS) -> dict[str, Any]:
    cases = load_cases(corpus_dir)
    if not cases:
        raise ValueError(f"no cases under {corpus_dir}")
    return score(cases, run_cli(cases))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    report = evaluate(pathlib.Path(args[0]) if args else DEFAULT_CORPUS)
    print(f"messages: {report['cases']} cases")
    for name, value in report["metrics"].items():
        print(f"  {name:22s} {value:6.1%}")
    print(f"  {'category':22s} {'precision':>9s} {'recall':>7s} {'n':>4s}")
    for cat, m in report["per_category"].items():
        print(f"  {cat:22s} {m['precision']:9.1%} {m['recall']:7.1%} {int(m['support']):4d}")
    print(f"misses ({len(report['misses'])}):")
    for miss in report["misses"]:
        print(f"- {miss['case']}: want {miss['want']} got {miss['got']}")
        print(f"    {miss['message']!r}")
        print(f"    source: {miss['source']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
