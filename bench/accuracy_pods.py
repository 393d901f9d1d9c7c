"""Accuracy of ``podsleuth watch`` on the gathered pod/node status corpus (issue 10).

Every case of ``tests/corpus/pods/*.yaml`` is a set of objects as the API server returns them
(Pods with status, their core/v1 Events, Nodes with conditions), transcribed from a public
source. All cases are served at once by the real fake API server
(``podsleuth.lab.fake_apiserver``), each in namespaces of its own (``c007-<ns>``) and with its
nodes renamed ``c007-<node>``, to ONE real ``python -m podsleuth watch -o json`` process; the
``incident.opened`` lines are mapped back to their case.

Time: the detector's rules are time-based (pending/stuck thresholds, OOM/eviction "pulses" that
are news only while young), so every timestamp of a case is shifted by ``now - observed_at``:
the ages the source shows (``Age: 5m``, ``Finished: 2m ago``) are the ages the watcher sees.
``observed_at`` is the case's snapshot instant; without it, the newest timestamp of the case.

Scored per category (precision/recall over cases), exact case accuracy, quiet rate of the
healthy cases (``categories: []``), optional signature accuracy, and every miss with its source.

Run: ``python bench/accuracy_pods.py [CORPUS_DIR]`` (default ``tests/corpus/pods``).
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import pathlib
import re
import sys
import tempfile
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT / "tests" / "corpus" / "pods"
WATCH_SECONDS = 8.0
TIMEOUT_S = 50.0
KINDS = {"Pod": "pods", "Event": "events", "Node": "nodes"}
_TIME_KEY = re.compile(r"(Time|Timestamp|At)$")
_CASE_PREFIX = re.compile(r"^c(\d{3})-")
# default thresholds; the node agents and log fetching are off: no agent serves the corpus
CONFIG = "node_agents: {discovery: 'off'}\nwatch: {collect_logs: false}\n"


def load_cases(corpus_dir: pathlib.Path) -> list[dict[str, Any]]:
    """All cases tagged with their file; a case without id, source, objects or expect is a
    corpus error, reported loudly rather than skipped."""
    cases: list[dict[str, Any]] = []
    for path in sorted(corpus_dir.glob("*.yaml")):
        if path.name == "floors.yaml":
            continue
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for i, case in enumerate(doc.get("cases") or []):
            where = f"{path.name} case {i + 1}"
            if not isinstance(case, dict) or not case.get("id") or not case.get("source"):
                raise ValueError(f"{where}: id and source are required")
            if not case.get("objects") or not isinstance((case.get("expect") or {}).get("categories"), list):
                raise ValueError(f"{where} ({case['id']}): objects and expect.categories are required")
            cases.append({**case, "file": path.name})
    ids = Counter(c["id"] for c in cases)
    dupes = [i for i, n in ids.items() if n > 1]
    if dupes:
        raise ValueError(f"duplicate case ids: {dupes}")
    return cases


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _walk_times(obj: Any, fn: Any, key: str = "") -> Any:
    """Apply ``fn`` to every timestamp string (keys ending in Time/Timestamp/At)."""
    if isinstance(obj, dict):
        return {k: _walk_times(v, fn, k) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_walk_times(v, fn, key) for v in obj]
    if isinstance(obj, str) and _TIME_KEY.search(key) and re.match(r"^\d{4}-\d\d-\d\dT", obj):
        return fn(obj)
    return obj


def _newest(objects: list[dict[str, Any]]) -> datetime | None:
    seen: list[datetime] = []

    def record(s: str) -> str:
        seen.append(_parse_time(s))
        return s

    _walk_times(objects, record)
    return max(seen) if seen else None


def prepare(index: int, case: dict[str, Any], now: datetime) -> list[tuple[str, dict[str, Any]]]:
    """The case's objects as served: renamed into its own namespaces/nodes, structural fields
    filled (uid, names), timestamps shifted so the source's ages hold at ``now``."""
    prefix = f"c{index:03d}-"
    objects = copy.deepcopy(case["objects"])
    observed = case.get("observed_at")
    anchor = _parse_time(str(observed)) if observed else _newest(objects)
    delta = (now - anchor) if anchor is not None else timedelta(0)

    def shift(s: str) -> str:
        return (_parse_time(s) + delta).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def ns(name: str | None) -> str:
        return (prefix + (name or "default"))[:63]

    def uid_for(*parts: str) -> str:
        return str(uuid.UUID(hashlib.md5("/".join((case["id"], *parts)).encode()).hexdigest()))

    pod_uids: dict[tuple[str, str], str] = {}
    out: list[tuple[str, dict[str, Any]]] = []
    for obj in objects:
        obj = _walk_times(obj, shift)
        meta = obj.setdefault("metadata", {})
        kind = obj.get("kind")
        if kind == "Pod":
            meta["namespace"] = ns(meta.get("namespace"))
            meta.setdefault("uid", uid_for("pod", meta["name"]))
            meta.setdefault("creationTimestamp", shift(anchor.isoformat()) if anchor else None)
            pod_uids[(meta["namespace"], meta["name"])] = meta["uid"]
            spec = obj.setdefault("spec", {})
            if spec.get("nodeName"):
                spec["nodeName"] = prefix + spec["nodeName"]
        elif kind == "Node":
            meta["name"] = prefix + meta["name"]
            meta.setdefault("uid", uid_for("node", meta["name"]))
        out.append((KINDS[str(kind)], obj))
    for n, (_, obj) in enumerate(out):
        if obj.get("kind") != "Event":
            continue
        meta, inv = obj["metadata"], obj.setdefault("involvedObject", {})
        if inv.get("kind") == "Node":
            inv["name"] = prefix + inv["name"]
            inv.setdefault("uid", uid_for("node", inv["name"]))
            meta["namespace"] = ns(meta.get("namespace"))
        else:
            inv["namespace"] = meta["namespace"] = ns(inv.get("namespace") or meta.get("namespace"))
            inv.setdefault("uid", pod_uids.get((inv["namespace"], inv.get("name", "")), uid_for("x", str(n))))
        meta.setdefault("name", f"{inv.get('name', 'obj')}.{n:04x}")
        meta.setdefault("uid", uid_for("event", str(n)))
        obj.setdefault("count", 1)
        obj.setdefault("type", "Warning")
        if obj.get("source", {}).get("host"):
            obj["source"]["host"] = prefix + obj["source"]["host"]
    return out


async def _serve_and_watch(cases: list[dict[str, Any]], seconds: float) -> list[dict[str, Any]]:
    from podsleuth.lab.fake_apiserver import FakeApiServer

    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        config = pathlib.Path(tmp) / "podsleuth.yaml"
        config.write_text(CONFIG)
        async with FakeApiServer(bookmark_interval=None) as api:
            for i, case in enumerate(cases):
                for kind, obj in prepare(i, case, now):
                    api.put(kind, obj)
            kubeconfig = api.kubeconfig_path(pathlib.Path(tmp))
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "podsleuth", "watch", "--kubeconfig", str(kubeconfig),
                "--store", f"sqlite:///{tmp}/store.db", "--config", str(config),
                "--duration", str(seconds), "--output", "json",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            try:
                out, err = await asyncio.wait_for(proc.communicate(), timeout=TIMEOUT_S)
            except TimeoutError:
                proc.kill()
                await proc.wait()
                raise RuntimeError("podsleuth watch did not stop in time") from None
    if proc.returncode != 0:
        raise RuntimeError(f"podsleuth watch exited {proc.returncode}: {err.decode()[-2000:]}")
    lines = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    return [line["incident"] for line in lines if line.get("event") == "incident.opened"]


def _case_of(incident: dict[str, Any]) -> int | None:
    for field in ("namespace", "node"):
        m = _CASE_PREFIX.match(incident.get(field) or "")
        if m and (field == "namespace" or incident.get("pod") is None):
            return int(m.group(1))
    return None


def _ratio(num: int, den: int) -> float:
    return num / den if den else 1.0


def score(cases: list[dict[str, Any]], incidents: list[dict[str, Any]]) -> dict[str, Any]:
    got: list[list[dict[str, Any]]] = [[] for _ in cases]
    for inc in incidents:
        i = _case_of(inc)
        if i is not None and i < len(cases):
            got[i].append(inc)
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    misses: list[dict[str, Any]] = []
    exact = healthy = quiet = sig_total = sig_ok = 0
    for case, incs in zip(cases, got, strict=True):
        want = set(case["expect"]["categories"])
        have = {i["category"] for i in incs}
        for c in want & have:
            tp[c] += 1
        for c in have - want:
            fp[c] += 1
        for c in want - have:
            fn[c] += 1
        exact += want == have
        if not want:
            healthy += 1
            quiet += not have
        sig = case["expect"].get("signature")
        sig_hit = True
        if sig:
            sig_total += 1
            sig_hit = any(i.get("signature") == sig for i in incs)
            sig_ok += sig_hit
        if want != have or not sig_hit:
            misses.append({
                "id": case["id"], "file": case["file"], "expected": sorted(want), "got": sorted(have),
                "signature": sig, "got_signatures": sorted({str(i.get("signature")) for i in incs}),
                "reasons": sorted({str(i.get("reason")) for i in incs}), "source": case["source"],
            })  # fmt: skip
    categories = sorted(set(tp) | set(fp) | set(fn))
    per_category = {
        c: {"tp": tp[c], "fp": fp[c], "fn": fn[c],
            "precision": _ratio(tp[c], tp[c] + fp[c]), "recall": _ratio(tp[c], tp[c] + fn[c])}
        for c in categories
    }  # fmt: skip
    all_tp, all_fp, all_fn = sum(tp.values()), sum(fp.values()), sum(fn.values())
    metrics = {
        "case_accuracy": _ratio(exact, len(cases)),
        "precision": _ratio(all_tp, all_tp + all_fp),
        "recall": _ratio(all_tp, all_tp + all_fn),
        "healthy_quiet": _ratio(quiet, healthy),
        "signature_accuracy": _ratio(sig_ok, sig_total),
    }
    return {"kind": "pods", "cases": len(cases), "healthy_cases": healthy, "metrics": metrics,
            "per_category": per_category, "misses": misses}  # fmt: skip


def evaluate(corpus_dir: pathlib.Path = DEFAULT_CORPUS, *, seconds: float = WATCH_SECONDS) -> dict[str, Any]:
    """Serve the whole corpus to one real ``podsleuth watch`` run and score what it opened."""
    cases = load_cases(pathlib.Path(corpus_dir))
    incidents = asyncio.run(_serve_and_watch(cases, seconds))
    return score(cases, incidents)


def print_report(report: dict[str, Any]) -> None:
    print(f"pods: {report['cases']} cases ({report['healthy_cases']} healthy)")
    print(f"  {'category':<20} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>10} {'recall':>7}")
    for c, s in report["per_category"].items():
        print(f"  {c:<20} {s['tp']:>4} {s['fp']:>4} {s['fn']:>4} {s['precision']:>10.3f} {s['recall']:>7.3f}")
    for name, value in report["metrics"].items():
        print(f"  {name:<20} {value:.3f}")
    for miss in report["misses"]:
        print("  MISS " + json.dumps(miss, ensure_ascii=False))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    print_report(evaluate(pathlib.Path(args[0]) if args else DEFAULT_CORPUS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
