"""A compressed day of churn and faults against a real ``python -m podsleuth watch`` process.

This process runs the fake API server (20,000 pods on 50 nodes), a webhook receiver that fails
30 % of its requests with a 500, and the scenario, which keeps the truth:

- rolling updates: pods of Deployments web-0..199 replaced (DELETED, ADDED Pending/ContainerCreating,
  MODIFIED Running) plus annotation churn; none of it may raise an incident;
- crash loops that start and heal (one pod of its own Deployment web-200.. each): each must
  give exactly one incident.opened and, once healed, exactly one incident.resolved;
- node flaps: long ones (Ready=Unknown past ``node_not_ready``: one incident each) and short
  ones (under it: none);
- API faults in turn: dropped watches, ERROR 410 in the stream, compaction (410 on the re-watch,
  so a relist of 20,000 pods), HTTP 500s, slow answers, a stalled stream.

Detector thresholds are compressed (``node_not_ready``/``resolve_after`` a few seconds); the
episodes left unhealed at the end are the truth for "open incidents at the end". It prints RSS
and the watcher's asyncio task count and table sizes over time (from ``bench/soak_probe``, a
sitecustomize put on the watcher's PYTHONPATH, since podsleuth exports neither), then lost,
duplicate and unexpected notifications, and open incidents against the truth. ``--json``
writes the summary for tests/bench/test_soak_quick.py.

Modules: ``soak_scenario`` (the world and its faults), ``soak_truth`` (episodes, the check),
``soak_watcher`` (the watcher's config, metrics, memory, and the webhook receiver).

Run: python bench/soak.py [--duration 1800] | python bench/soak.py --quick
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from soak_scenario import Scenario
from soak_truth import Truth
from soak_watcher import Receiver, config, metric, probe_last, ready, rss_mib

from podsleuth.lab.fake_apiserver import FakeApiServer

HERE = Path(__file__).resolve().parent


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="podsleuth-soak-"))
    api = FakeApiServer(bookmark_interval=5.0, window=20_000)
    scenario = Scenario(api, pods=args.pods, nodes=args.nodes, quick=args.quick, seed=args.seed)
    print(
        f"soak: {args.pods:,} pods on {args.nodes} nodes, {args.duration:.0f} s, work dir {tmp}", flush=True
    )
    scenario.populate()
    receiver = Receiver(args.fail, args.seed)
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hook_port = runner.addresses[0][1]
    probe = tmp / "probe.jsonl"
    metrics_port = args.metrics_port
    async with api:
        kubeconfig = api.kubeconfig_path(tmp)
        env = {
            **os.environ,
            "PYTHONPATH": f"{HERE / 'soak_probe'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
            "PODSLEUTH_SOAK_PROBE": str(probe),
            "PODSLEUTH_SOAK_PROBE_INTERVAL": str(args.sample),
        }
        out, err = open(tmp / "watch.jsonl", "wb"), open(tmp / "watch.log", "wb")  # noqa: SIM115, ASYNC230
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "podsleuth",
            "watch",
            "--kubeconfig",
            str(kubeconfig),
            "--output",
            "json",
            "--config",
            str(config(tmp, f"http://127.0.0.1:{hook_port}/hook", args.quick)),
            "--store",
            f"sqlite:///{tmp / 'store.db'}",
            "--metrics-port",
            str(metrics_port),
            "--metrics-host",
            "127.0.0.1",
            "--no-leader-elect",
            stdout=out,
            stderr=err,
            env=env,
        )
        samples: list[tuple[float, float, dict[str, Any]]] = []
        session = aiohttp.ClientSession()
        try:
            t0 = time.monotonic()
            while not await ready(session, metrics_port):
                if proc.returncode is not None or time.monotonic() - t0 > 120:
                    raise SystemExit(f"watcher did not start; see {tmp / 'watch.log'}")
                await asyncio.sleep(0.5)
            await api.wait_for_watches(3, within=60)
            print(f"watcher pid {proc.pid} up after {time.monotonic() - t0:.1f} s", flush=True)
            start = time.monotonic()
            next_sample = start
            while (now := time.monotonic()) < start + args.duration:
                scenario.tick(now - start, args.duration)
                api.requests.clear()  # the fake server's request log is for tests, unbounded here
                if now >= next_sample:
                    next_sample += args.sample
                    rss, p = rss_mib(proc.pid), probe_last(probe)
                    samples.append((now - start, rss, p))
                    top = sorted(p.get("tables", {}).items(), key=lambda kv: -kv[1])[:3]
                    print(
                        f"t={now - start:6.0f}s rss={rss:6.1f} MiB tasks={p.get('tasks', '?'):>4} "
                        f"faults={scenario.faults_done:>3} eps={len(scenario.episodes):>3} "
                        f"largest={top}",
                        flush=True,
                    )
                await asyncio.sleep(0.1)
            truth = scenario.finish(time.monotonic() - start)
            drain = time.monotonic()
            while time.monotonic() - drain < args.drain_min or (  # noqa: ASYNC110 - polls the receiver
                time.monotonic() - receiver.last < 8 and time.monotonic() - drain < args.drain_max
            ):
                await asyncio.sleep(0.5)
            open_gauge = await metric(session, metrics_port, "podsleuth_incidents_open")
            final_probe = probe_last(probe)
        finally:
            await session.close()
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 30)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
            out.close()
            err.close()
    await runner.cleanup()
    with open(tmp / "accepted.jsonl", "w") as f:  # noqa: ASYNC230 - once, at the end
        f.writelines(n["body"] + "\n" for n in receiver.accepted)
    return _summary(args, truth, receiver, samples, open_gauge, final_probe, tmp)


def _summary(
    args: argparse.Namespace,
    truth: Truth,
    receiver: Receiver,
    samples: list[tuple[float, float, dict[str, Any]]],
    open_gauge: float | None,
    final_probe: dict[str, Any],
    tmp: Path,
) -> dict[str, Any]:
    warm = [s for s in samples if s[0] >= args.warmup]
    quarter = max(1, len(warm) // 4)
    base = statistics.median(s[1] for s in warm[:quarter]) if warm else float("nan")
    final = statistics.median(s[1] for s in warm[-quarter:]) if warm else float("nan")
    verdict = truth.check(receiver.accepted)
    first_tables = warm[0][2].get("tables", {}) if warm else {}
    last_tables = final_probe.get("tables", {})
    growing = {
        k: (first_tables.get(k, 0), v)
        for k, v in last_tables.items()
        if v > 100 and v > 1.2 * first_tables.get(k, 0)
    }
    return {
        "duration": args.duration,
        "pods": args.pods,
        "warmup": args.warmup,
        "rss_start_mib": base,
        "rss_end_mib": final,
        "rss_max_mib": max((s[1] for s in samples), default=0.0),
        "rss_growth": final / base - 1 if base == base and base > 0 else float("nan"),
        "rss_series": [(round(t), round(r, 1)) for t, r, _ in samples],
        "tasks_series": [(round(t), p.get("tasks")) for t, _, p in samples],
        "tables_end": last_tables,
        "tables_growing": growing,
        "receiver_accepted": len(receiver.accepted),
        "receiver_failed": receiver.failed,
        "open_gauge": open_gauge,
        "work_dir": str(tmp),
        **verdict,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=1800.0)
    parser.add_argument("--quick", action="store_true", help="the 60-second version")
    parser.add_argument("--pods", type=int, default=20_000)
    parser.add_argument("--nodes", type=int, default=50)
    parser.add_argument("--fail", type=float, default=0.3, help="receiver failure ratio")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--metrics-port", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write the summary here")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (watcher log, store, probe)")
    args = parser.parse_args()
    if args.quick and args.duration == 1800.0:
        args.duration = 60.0
    args.sample = 3.0 if args.quick else 30.0
    args.warmup = 20.0 if args.quick else max(120.0, args.duration / 10)
    args.drain_min, args.drain_max = (15.0, 60.0) if args.quick else (30.0, 120.0)
    if not args.metrics_port:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            args.metrics_port = s.getsockname()[1]
    summary = asyncio.run(run(args))
    print(
        f"RSS after warm-up {summary['rss_start_mib']:.1f} MiB -> end {summary['rss_end_mib']:.1f} MiB: "
        f"{summary['rss_growth']:+.1%} (max {summary['rss_max_mib']:.1f} MiB; target <= +5%)"
    )
    print(f"asyncio tasks over time: {[n for _, n in summary['tasks_series']]}")
    print(f"tables > 100 entries that grew > 20% after warm-up: {summary['tables_growing'] or 'none'}")
    big = sorted(summary["tables_end"].items(), key=lambda kv: -kv[1])[:8]
    print(f"largest tables at the end: {big}")
    print(
        f"notifications: {summary['receiver_accepted']} accepted, {summary['receiver_failed']} refused (500)"
    )
    for key in (
        "episodes",
        "expected_opened",
        "lost_opened",
        "lost_resolved",
        "duplicates",
        "unexpected",
        "possible_duplicate_flags",
        "extra_copies",
        "extra_copies_unflagged",
    ):
        value = summary[key]
        print(
            f"{key:>24}: {len(value) if isinstance(value, list) else value}"
            + (f"  {value[:5]}" if isinstance(value, list) and value else "")
        )
    print(
        f"open incidents at the end: {summary['open_seen']} seen by the receiver, "
        f"{summary['open_gauge']} in podsleuth_incidents_open, truth {summary['open_truth']}"
    )
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1, default=str))
    if not args.keep:
        import shutil

        shutil.rmtree(summary["work_dir"], ignore_errors=True)


if __name__ == "__main__":
    main()
