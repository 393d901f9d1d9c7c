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
import contextlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

import aiohttp
from aiohttp import web
from soak_scenario import Scenario
from soak_truth import Truth
from soak_watcher import Receiver, Replica, config, metric, probe_last, ready, rss_mib

from podsleuth.lab.fake_apiserver import FakeApiServer

HERE = Path(__file__).resolve().parent


LEASES = "coordination.k8s.io/leases"
LEASE = ("podsleuth", "podsleuth-watcher")


def lease_holder(api: FakeApiServer) -> str | None:
    entry = api.store.get(LEASES, *LEASE)
    return None if entry is None else json.loads(entry.raw)["spec"].get("holderIdentity")


def watch_args(args: argparse.Namespace, kubeconfig: Path, conf: Path, store: str) -> list[str]:
    common = ["--kubeconfig", str(kubeconfig), "--output", "json", "--config", str(conf), "--store", store]
    if args.replicas == 1:
        return [*common, "--no-leader-elect"]
    duration, deadline, retry = (4, 3, 1) if args.quick else (6, 4, 1)
    return [
        *common, "--leader-elect", "--lease-namespace", LEASE[0], "--lease-name", LEASE[1],
        "--lease-duration", str(duration), "--renew-deadline", str(deadline), "--retry-period", str(retry),
    ]  # fmt: skip


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="podsleuth-soak-"))
    api = FakeApiServer(bookmark_interval=5.0, window=20_000)
    scenario = Scenario(api, pods=args.pods, nodes=args.nodes, quick=args.quick, seed=args.seed)
    print(
        f"soak: {args.pods:,} pods on {args.nodes} nodes, {args.duration:.0f} s, {args.replicas} "
        f"replica(s), leader killed every {args.kill_every:.0f} s, work dir {tmp}",
        flush=True,
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
    with contextlib.ExitStack() as stack:
        store = f"sqlite:///{tmp / 'store.db'}"
        if args.replicas > 1:  # replicas share the outbox and the fence: PostgreSQL, as in docs/ha.md
            sys.path.insert(0, str(HERE.parent))
            from tests.store.postgres_server import running_server

            store = stack.enter_context(running_server()).create_database("soak")
        async with api:
            conf = config(tmp, f"http://127.0.0.1:{hook_port}/hook", args.quick)
            argv = watch_args(args, api.kubeconfig_path(tmp), conf, store)
            replicas = [
                Replica(f"replica-{n}", args=argv, tmp=tmp, sample=args.sample) for n in range(args.replicas)
            ]
            session = aiohttp.ClientSession()
            try:
                world = await _soak(args, api, scenario, replicas, receiver, session)
            finally:
                await session.close()
                for r in replicas:
                    await r.stop()
    await runner.cleanup()
    with open(tmp / "accepted.jsonl", "w") as f:  # noqa: ASYNC230 - once, at the end
        f.writelines(n["body"] + "\n" for n in receiver.accepted)
    return _summary(args, receiver, tmp, **world)


async def _soak(
    args: argparse.Namespace,
    api: FakeApiServer,
    scenario: Scenario,
    replicas: list[Replica],
    receiver: Receiver,
    session: aiohttp.ClientSession,
) -> dict[str, Any]:
    """Start the replicas, run the scenario with its faults and leader kills, drain, and
    return what was seen: the truth, the RSS/probe samples per process, the kills."""
    t0 = time.monotonic()
    for r in replicas:
        await r.start()
    for r in replicas:
        while not await ready(session, r.metrics_port):
            if not r.alive or time.monotonic() - t0 > 120:
                raise SystemExit(f"watcher {r.identity} did not start; see {r.log()}")
            await asyncio.sleep(0.5)
    await api.wait_for_watches(3 * len(replicas), within=60)
    print(f"watchers {[r.pid for r in replicas]} up after {time.monotonic() - t0:.1f} s", flush=True)
    samples: list[Sample] = []
    kills: list[dict[str, Any]] = []
    restart_at: dict[str, float] = {}
    start = time.monotonic()
    next_sample, next_kill = start, start + args.kill_every
    while (now := time.monotonic()) < start + args.duration:
        scenario.tick(now - start, args.duration)
        api.requests.clear()  # the fake server's request log is for tests, unbounded here
        holder = lease_holder(api) if len(replicas) > 1 else replicas[0].identity
        if len(replicas) > 1 and now >= next_kill and holder is not None:
            next_kill += args.kill_every
            leader = next(r for r in replicas if r.identity == holder)
            await leader.kill()
            restart_at[leader.identity] = now + args.restart_after
            kills.append({"t": round(now - start, 1), "killed": holder, "took_over": None})
            print(f"t={now - start:6.0f}s SIGKILL leader {holder}", flush=True)
        if kills and kills[-1]["took_over"] is None:
            await _note_takeover(kills[-1], holder, replicas, session, now - start)
        for r in replicas:
            if r.identity in restart_at and now >= restart_at[r.identity]:
                del restart_at[r.identity]
                await r.start()
        if now >= next_sample:
            next_sample += args.sample
            for r in (r for r in replicas if r.alive):
                p = probe_last(r.probe)
                samples.append(Sample(now - start, r.identity, r.incarnation, rss_mib(r.pid), p))
                top = sorted(p.get("tables", {}).items(), key=lambda kv: -kv[1])[:3]
                mark = "*" if r.identity == holder else " "
                print(
                    f"t={now - start:6.0f}s {r.identity}.{r.incarnation}{mark} "
                    f"rss={samples[-1].rss:6.1f} MiB tasks={p.get('tasks', '?'):>4} "
                    f"faults={scenario.faults_done:>3} eps={len(scenario.episodes):>3} largest={top}",
                    flush=True,
                )
        await asyncio.sleep(0.1)
    truth = scenario.finish(time.monotonic() - start)
    drain = time.monotonic()
    while time.monotonic() - drain < args.drain_min or (  # noqa: ASYNC110 - polls the receiver
        time.monotonic() - receiver.last < 8 and time.monotonic() - drain < args.drain_max
    ):
        await asyncio.sleep(0.5)
    holder = lease_holder(api) if len(replicas) > 1 else replicas[0].identity
    leader = next((r for r in replicas if r.identity == holder and r.alive), None)
    open_gauge = await metric(session, leader.metrics_port, "podsleuth_incidents_open") if leader else None
    return {"truth": truth, "samples": samples, "kills": kills, "open_gauge": open_gauge}


class Sample(NamedTuple):
    t: float
    replica: str
    incarnation: int
    rss: float
    probe: dict[str, Any]


async def _note_takeover(
    kill: dict[str, Any],
    holder: str | None,
    replicas: list[Replica],
    session: aiohttp.ClientSession,
    t: float,
) -> None:
    """Who leads after a kill: another replica (the Lease names it), or the killed one's new
    process under the same identity (the Lease still names it; its ``podsleuth_leader`` says)."""
    if holder is None:
        return
    if holder == kill["killed"]:
        restarted = next(r for r in replicas if r.identity == holder)
        if not restarted.alive or await metric(session, restarted.metrics_port, "podsleuth_leader") != 1:
            return
        holder = f"{holder} (restarted)"
    kill["took_over"], kill["after"] = holder, round(t - kill["t"], 1)


def _summary(
    args: argparse.Namespace,
    receiver: Receiver,
    tmp: Path,
    *,
    truth: Truth,
    samples: list[Sample],
    kills: list[dict[str, Any]],
    open_gauge: float | None,
) -> dict[str, Any]:
    """Memory is judged on the process that lived longest (a killed leader starts over)."""
    lives: dict[tuple[str, int], list[Sample]] = {}
    for sample in samples:
        lives.setdefault((sample.replica, sample.incarnation), []).append(sample)
    longest = max(lives.values(), key=len, default=[])
    warm = [s for s in longest if s.t - longest[0].t >= args.warmup]
    quarter = max(1, len(warm) // 4)
    base = statistics.median(s.rss for s in warm[:quarter]) if warm else float("nan")
    final = statistics.median(s.rss for s in warm[-quarter:]) if warm else float("nan")
    verdict = truth.check(receiver.accepted)
    first_tables = warm[0].probe.get("tables", {}) if warm else {}
    last_tables = longest[-1].probe.get("tables", {}) if longest else {}
    growing = {
        k: (first_tables.get(k, 0), v)
        for k, v in last_tables.items()
        if v > 100 and v > 1.2 * first_tables.get(k, 0)
    }
    return {
        "duration": args.duration,
        "pods": args.pods,
        "replicas": args.replicas,
        "warmup": args.warmup,
        "measured_process": f"{longest[0].replica}.{longest[0].incarnation}" if longest else None,
        "rss_start_mib": base,
        "rss_end_mib": final,
        "rss_max_mib": max((s.rss for s in samples), default=0.0),
        "rss_growth": final / base - 1 if base == base and base > 0 else float("nan"),
        "rss_series": [(round(s.t), round(s.rss, 1)) for s in longest],
        "tasks_series": [(round(s.t), s.probe.get("tasks")) for s in longest],
        "tables_end": last_tables,
        "tables_growing": growing,
        "kills": kills,
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
    parser.add_argument(
        "--replicas", type=int, default=2, choices=(1, 2),
        help="2: leader election on a PostgreSQL store, the leader SIGKILLed every --kill-every s; "
        "1: one watcher on SQLite, no kills",
    )  # fmt: skip
    parser.add_argument("--kill-every", type=float, default=0.0, help="default: a third of the run")
    parser.add_argument("--restart-after", type=float, default=3.0, help="a killed leader restarts after")
    parser.add_argument("--json", type=Path, help="write the summary here")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (watcher log, store, probe)")
    args = parser.parse_args()
    if args.quick and args.duration == 1800.0:
        args.duration = 60.0
    args.sample = 3.0 if args.quick else 30.0
    args.kill_every = args.kill_every or args.duration / 3
    args.warmup = 20.0 if args.quick else max(120.0, args.duration / 10)
    args.drain_min, args.drain_max = (15.0, 60.0) if args.quick else (30.0, 120.0)
    summary = asyncio.run(run(args))
    print(
        f"RSS after warm-up {summary['rss_start_mib']:.1f} MiB -> end {summary['rss_end_mib']:.1f} MiB: "
        f"{summary['rss_growth']:+.1%} (max {summary['rss_max_mib']:.1f} MiB; target <= +5%)"
    )
    print(f"memory and tasks measured on {summary['measured_process']}, the longest-lived process")
    print(f"asyncio tasks over time: {[n for _, n in summary['tasks_series']]}")
    for kill in summary["kills"]:
        print(f"leader {kill['killed']} SIGKILLed at t={kill['t']} s: {kill['took_over']} took over "
              f"after {kill.get('after', '?')} s")
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
        "redeliveries",
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
