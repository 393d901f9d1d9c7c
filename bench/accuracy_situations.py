"""Root-cause accuracy of ``podsleuth watch`` on whole situations (issue 17).

Every case of ``tests/corpus/situations/*.yaml`` is what a real cluster holds for one failure,
transcribed from a public source: the pod with its status and core/v1 Events, and the objects the
diagnosis chain reads (PVC/PV/StorageClass, ConfigMap, ServiceAccount with imagePullSecrets
*names*, Secret names without contents, CSINode, the CSI node-plugin pod, Nodes with conditions,
peer pods). The expectation is the root cause a good SRE names::

    expect:
      root_cause: image-pull-auth          # a rule cause of data/rules/diagnosis.yaml or a signature id
      summary_mentions: [registry.example.com, regcred]   # the specifics the summary must name
      contradiction: true                  # two facts disagree: the diagnosis must say so
      pod: web-0                           # the failing pod (default: the first Pod)

All situations are served at once by the real fake API server (each in namespaces of its own,
nodes renamed ``cNNN-<node>``: the approach and helpers of ``accuracy_pods.py``) to ONE real
``python -m podsleuth watch -o json`` run with the node agents off; the last diagnosis of the
failing pod's incident is scored:

- ``root_cause_accuracy``: right ``root_cause`` AND every ``summary_mentions`` string in the
  summary (case-insensitive, after the ``cNNN-`` renaming is undone) AND, when the situation is
  a contradiction, the diagnosis lists it in ``contradictions``;
- ``mean_confidence_right`` / ``_wrong`` and their difference ``calibration_gap`` (wrong answers
  should be less sure);
- ``single_incident_rate``: situations whose failing pod has at most one open incident (two
  incidents for one failure is a miss of its own);
- ``contradictions_noticed`` (of those expected) and ``contradiction_false_alarms``;
- ``next_checks_rate``: diagnoses that say what would confirm them (``next_checks``).

Run: ``python bench/accuracy_situations.py [CORPUS_DIR]`` (default ``tests/corpus/situations``).
"""

from __future__ import annotations

import asyncio
import copy
import importlib.util
import json
import pathlib
import re
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import yaml

HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_CORPUS = HERE.parent / "tests" / "corpus" / "situations"
WATCH_SECONDS = 40.0
"""Upper bound of the watch run; it is stopped as soon as every situation is diagnosed."""
MIN_S = 3.0
QUIET_S = 2.0
# kind -> (store key, namespaced); Pod/Event/Node are prepared by accuracy_pods.prepare
EXTRA_KINDS: dict[str, tuple[str, str, str, bool]] = {
    "PersistentVolumeClaim": ("v1", "persistentvolumeclaims", "PersistentVolumeClaim", True),
    "PersistentVolume": ("v1", "persistentvolumes", "PersistentVolume", False),
    "ConfigMap": ("v1", "configmaps", "ConfigMap", True),
    "Secret": ("v1", "secrets", "Secret", True),
    "ServiceAccount": ("v1", "serviceaccounts", "ServiceAccount", True),
    "StorageClass": ("storage.k8s.io/v1", "storageclasses", "StorageClass", False),
    "CSINode": ("storage.k8s.io/v1", "csinodes", "CSINode", False),
}
CONFIG = "node_agents: {discovery: 'off'}\n"
"""Default thresholds, no node agent (every node-side link is a gap), logs fetched."""
KNOWN_KINDS = frozenset({"Pod", "Event", "Node", *EXTRA_KINDS})
_PREFIX = re.compile(r"\bc\d{3}-")


def _pods_runner() -> ModuleType:
    """``accuracy_pods.py`` by path (``bench/`` is scripts, not a package): its case loading,
    renaming/time shifting and incident-to-case mapping are shared, not copied."""
    name = "podsleuth_accuracy_pods"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HERE / "accuracy_pods.py")
    if spec is None or spec.loader is None:
        raise RuntimeError("cannot load bench/accuracy_pods.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


pods = _pods_runner()


def load_cases(corpus_dir: pathlib.Path) -> list[dict[str, Any]]:
    """All situations; a malformed one (no source, unknown kind, Secret with contents, no
    expected root cause) is a corpus error, raised rather than skipped."""
    cases: list[dict[str, Any]] = []
    for path in sorted(corpus_dir.glob("*.yaml")):
        if path.name == "floors.yaml":
            continue
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for i, case in enumerate(doc.get("cases") or []):
            where = f"{path.name} case {i + 1} ({case.get('id') if isinstance(case, dict) else '?'})"
            if not isinstance(case, dict) or not case.get("id") or not case.get("source"):
                raise ValueError(f"{where}: id and source are required")
            expect = case.get("expect") or {}
            if not case.get("objects") or not expect.get("root_cause"):
                raise ValueError(f"{where}: objects and expect.root_cause are required")
            kinds = {o.get("kind") for o in case["objects"]}
            if not kinds <= KNOWN_KINDS or "Pod" not in kinds:
                raise ValueError(f"{where}: kinds {sorted(map(str, kinds - KNOWN_KINDS))} unknown or no Pod")
            if any(o.get("kind") == "Secret" and ({"data", "stringData"} & set(o)) for o in case["objects"]):
                raise ValueError(f"{where}: a Secret is transcribed by name only, never its contents")
            cases.append({**case, "file": path.name})
    dupes = [i for i, n in Counter(c["id"] for c in cases).items() if n > 1]
    if dupes:
        raise ValueError(f"duplicate case ids: {dupes}")
    return cases


def prepare(index: int, case: dict[str, Any], now: datetime) -> list[tuple[str, dict[str, Any]]]:
    """``accuracy_pods.prepare`` for Pods/Events/Nodes, plus the objects the chain reads:
    namespaced ones into the case's namespaces, CSINodes renamed like its nodes. PV names stay
    as the source has them (kubelet messages name them): they are unique across the corpus."""
    prefix = f"c{index:03d}-"
    base = [o for o in case["objects"] if o.get("kind") in pods.KINDS]
    extra = [o for o in case["objects"] if o.get("kind") not in pods.KINDS]
    out: list[tuple[str, dict[str, Any]]] = pods.prepare(index, {**case, "objects": base}, now)
    for obj in (copy.deepcopy(o) for o in extra):
        gv, plural, kind, namespaced = EXTRA_KINDS[obj["kind"]]
        meta = obj.setdefault("metadata", {})
        if namespaced:
            meta["namespace"] = (prefix + (meta.get("namespace") or "default"))[:63]
        elif kind == "CSINode":  # named after its node, which is renamed
            meta["name"] = prefix + meta["name"]
        spec = obj.get("spec") or {}
        if kind == "PersistentVolume" and isinstance(spec.get("claimRef"), dict):
            ref = spec["claimRef"]
            ref["namespace"] = (prefix + (ref.get("namespace") or "default"))[:63]
        group = gv.rpartition("/")[0]
        out.append((f"{group}/{plural}" if group else plural, obj))
    return out


async def _serve_and_watch(cases: list[dict[str, Any]], seconds: float) -> list[dict[str, Any]]:
    from podsleuth.lab.fake_apiserver import FakeApiServer
    from podsleuth.lab.fake_apiserver.store import Kind

    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        config = pathlib.Path(tmp) / "podsleuth.yaml"
        config.write_text(CONFIG)
        async with FakeApiServer(bookmark_interval=None) as api:
            for gv, plural, kind, namespaced in EXTRA_KINDS.values():
                if api.store.lookup(gv, plural) is None:
                    api.register(Kind(gv, plural, kind, namespaced))
            for i, case in enumerate(cases):
                for key, obj in prepare(i, case, now):
                    api.put(key, obj)
                for log in case.get("logs") or []:  # what `kubectl logs [--previous]` showed in the source
                    ns = (f"c{i:03d}-" + (log.get("namespace") or "default"))[:63]
                    api.logs[(ns, log["pod"], log.get("container", ""), bool(log.get("previous")))] = log[
                        "text"
                    ]
            kubeconfig = api.kubeconfig_path(pathlib.Path(tmp))
            argv = [
                sys.executable, "-m", "podsleuth", "watch", "--kubeconfig", str(kubeconfig),
                "--store", f"sqlite:///{tmp}/store.db", "--config", str(config),
                "--duration", str(seconds), "--output", "json",
            ]  # fmt: skip
            return await _watch_until_diagnosed(argv, _subjects(cases), seconds)


def _subjects(cases: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(served namespace, pod) of every situation's failing pod."""
    out: set[tuple[str, str]] = set()
    for i, case in enumerate(cases):
        name = _subject_pod(case)
        pod = next(o for o in case["objects"] if o["kind"] == "Pod" and o["metadata"]["name"] == name)
        out.add(((f"c{i:03d}-" + (pod["metadata"].get("namespace") or "default"))[:63], name))
    return out


async def _watch_until_diagnosed(
    argv: list[str], subjects: set[tuple[str, str]], seconds: float
) -> list[dict[str, Any]]:
    """Run ``watch`` and read its lines as they come; stop it once every failing pod has a full
    chain diagnosis (a ``rule`` key, None or an id: the first, signature-only one has none) and
    nothing new arrived for ``QUIET_S`` -- so a slow machine waits longer instead of scoring
    half-finished diagnoses, and a fast one does not wait the whole ``seconds``."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    err = bytearray()

    async def drain(stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(65536):
            err.extend(chunk)

    drainer = asyncio.create_task(drain(proc.stderr))
    loop = asyncio.get_running_loop()
    start = last = loop.time()
    pending = set(subjects)
    lines: list[dict[str, Any]] = []
    stopped = False
    while True:
        try:
            raw = await asyncio.wait_for(proc.stdout.readline(), timeout=0.25)
        except TimeoutError:
            raw = None
        now = loop.time()
        if raw == b"":
            break  # the watch ended by itself (--duration)
        if raw and raw.strip():
            line = json.loads(raw)
            if str(line.get("event", "")).startswith("incident."):
                lines.append(line)
                inc = line["incident"]
                if "rule" in (inc.get("diagnosis") or {}):
                    pending.discard((inc.get("namespace") or "", inc.get("pod") or ""))
                last = now
        if not pending and now - start >= MIN_S and now - last >= QUIET_S:
            stopped = True
            break
        if now - start > pods.TIMEOUT_S:
            break
    if proc.returncode is None:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), timeout=5)
        except TimeoutError:
            proc.kill()
            await proc.wait()
    await drainer
    if not stopped and proc.returncode != 0:
        raise RuntimeError(f"podsleuth watch exited {proc.returncode}: {err.decode()[-2000:]}")
    return lines


def final_incidents(lines: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """Per case index, the last snapshot of each incident (``_resolved`` when it was resolved)."""
    last: dict[str, dict[str, Any]] = {}
    for line in lines:
        inc = dict(line["incident"])
        prev = last.get(inc["id"])
        if inc.get("diagnosis") is None and prev is not None:
            inc["diagnosis"] = prev.get("diagnosis")
        inc["_resolved"] = line["event"] == "incident.resolved" or bool(inc.get("resolved_at"))
        last[inc["id"]] = inc
    by_case: dict[int, list[dict[str, Any]]] = {}
    for inc in last.values():
        i = pods._case_of(inc)
        if i is not None:
            by_case.setdefault(i, []).append(inc)
    return by_case


def _subject_pod(case: dict[str, Any]) -> str:
    return str(
        case["expect"].get("pod")
        or next(o for o in case["objects"] if o["kind"] == "Pod")["metadata"]["name"]
    )


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def score(cases: list[dict[str, Any]], lines: list[dict[str, Any]]) -> dict[str, Any]:
    by_case = final_incidents(lines)
    right_conf: list[float] = []
    wrong_conf: list[float] = []
    misses: list[dict[str, Any]] = []
    right = cause_right = single = expected_contra = noticed = false_alarms = checked = 0
    for i, case in enumerate(cases):
        want = case["expect"]
        name = _subject_pod(case)
        mine = [inc for inc in by_case.get(i, []) if inc.get("pod") == name]
        open_ = [inc for inc in mine if not inc["_resolved"]]
        single += len(open_) <= 1
        pool = [inc for inc in (open_ or mine) if inc.get("diagnosis")]
        chosen = max(pool, key=lambda inc: float(inc["diagnosis"].get("confidence") or 0), default=None)
        diag: dict[str, Any] = (chosen or {}).get("diagnosis") or {}
        summary = _PREFIX.sub("", str(diag.get("summary") or ""))
        causes = want["root_cause"] if isinstance(want["root_cause"], list) else [want["root_cause"]]
        got = diag.get("root_cause")
        absent = [s for s in want.get("summary_mentions") or [] if str(s).lower() not in summary.lower()]
        said = bool(diag.get("contradictions"))
        contra = bool(want.get("contradiction"))
        expected_contra += contra
        noticed += contra and said
        false_alarms += said and not contra
        ok = got in causes and not absent and (said or not contra)
        cause_right += got in causes
        checked += bool(diag.get("next_checks"))
        right += ok
        conf = float(diag.get("confidence") or 0.0)
        (right_conf if ok else wrong_conf).append(conf)
        if not ok or len(open_) > 1:
            misses.append({
                "id": case["id"], "file": case["file"], "expected": causes, "got": got,
                "rule": diag.get("rule"), "confidence": conf, "missing_mentions": absent,
                "contradiction_expected": contra, "contradiction_said": said,
                "open_incidents": [f"{inc['category']}/{inc['reason']}" for inc in open_],
                "summary": summary[:400], "source": case["source"],
            })  # fmt: skip
    n = len(cases)
    metrics = {
        "root_cause_accuracy": right / n if n else 1.0,
        "root_cause_only_accuracy": cause_right / n if n else 1.0,
        "mean_confidence_right": _mean(right_conf),
        "mean_confidence_wrong": _mean(wrong_conf),
        "calibration_gap": _mean(right_conf) - _mean(wrong_conf) if wrong_conf else 1.0,
        "single_incident_rate": single / n if n else 1.0,
        "contradictions_noticed": noticed / expected_contra if expected_contra else 1.0,
        "next_checks_rate": checked / n if n else 1.0,
    }
    return {"kind": "situations", "cases": n, "contradiction_cases": expected_contra,
            "two_incidents": n - single, "contradiction_false_alarms": false_alarms,
            "metrics": metrics, "misses": misses}  # fmt: skip


def evaluate(corpus_dir: pathlib.Path = DEFAULT_CORPUS, *, seconds: float = WATCH_SECONDS) -> dict[str, Any]:
    """Serve every situation to one real ``podsleuth watch`` run and score its diagnoses."""
    cases = load_cases(pathlib.Path(corpus_dir))
    return score(cases, asyncio.run(_serve_and_watch(cases, seconds)))


def print_report(report: dict[str, Any]) -> None:
    print(f"situations: {report['cases']} cases ({report['contradiction_cases']} with a contradiction)")
    for name, value in report["metrics"].items():
        print(f"  {name:<26} {value:.3f}")
    print(f"  {'two_incidents':<26} {report['two_incidents']}")
    print(f"  {'contradiction_false_alarms':<26} {report['contradiction_false_alarms']}")
    for miss in report["misses"]:
        print("  MISS " + json.dumps(miss, ensure_ascii=False))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    print_report(evaluate(pathlib.Path(args[0]) if args else DEFAULT_CORPUS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
