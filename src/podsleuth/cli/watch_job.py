"""The running ``podsleuth watch``: its units wired together, and torn down in a fixed order.

``cli/watch.py`` parses the command line into ``WatchOptions`` and a ``Target``; this module only
composes the units of a run - the store, the notifier, leadership (``podsleuth.cli.leadership``:
who publishes, failover catch-up), the output (``podsleuth.cli.watch_output``), the metrics and
console servers and the pipeline - so each can be built and tested without the others. It knows
nothing of the demo: the demo is one more ``Target`` (``podsleuth.lab.demo``).

The teardown order is what keeps failover safe: stop publishing first (as a step-down), then the
pipeline, the store backlog and the notifier, and only then hand the Lease over, so a successor
never starts while this replica still sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from aiohttp import web

from podsleuth.alert.notifier import Notifier
from podsleuth.alert.options import AlertOptions
from podsleuth.cli.election import Election, Term
from podsleuth.cli.leadership import Leadership, LeadershipOptions, leader_gauge
from podsleuth.cli.ui import ConsoleOptions, start_console
from podsleuth.cli.watch_output import Outbound, WatchOutput
from podsleuth.config import Settings
from podsleuth.errors import PodsleuthError, UsageError
from podsleuth.kube import KubeClient, connect
from podsleuth.metrics import WatchMetrics, serve_metrics
from podsleuth.runner import WatchPipeline
from podsleuth.store import Store, open_store

UNWRITTEN_GRACE = 5.0
"""At shutdown, how long changes waiting for a failing store are retried before giving up."""


class StoreUnwritten(PodsleuthError):
    """The run ends with incident changes the store never took: exit 1, never a silent 0."""


@dataclass(frozen=True, slots=True)
class Target:
    """The cluster one run watches: how to connect, and how to name it."""

    kubeconfig: str | None
    context: str | None
    where: str
    """How the start line names it: a kubeconfig path, "the in-cluster API server"."""
    cluster: str | None = None
    """The name incidents carry unless the config names one; None: the kubeconfig context."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    host: str
    port: int


@dataclass(frozen=True, slots=True)
class WatchOptions:
    """What the command line asked of one run, besides the config file's settings."""

    output: str = "text"
    namespaces: tuple[str, ...] = ()
    duration: float | None = None
    """Stop cleanly after this many seconds; None: until SIGTERM."""
    streaming_list: bool = False
    metrics: Endpoint | None = None
    console: ConsoleOptions | None = None
    election: Election | None = None
    lang: str = "en"
    """The language of the live view and its notices (``--lang``, else alerts.locale, else LANG)."""


@dataclass(frozen=True, slots=True)
class _Run:
    """The units of one run: built together (they refer to one another), torn down in order."""

    options: WatchOptions
    store: Store
    output: WatchOutput
    metrics: WatchMetrics
    notifier: Notifier
    leadership: Leadership
    pipeline: WatchPipeline


async def run_watch(
    settings: Settings, options: WatchOptions, target: AbstractAsyncContextManager[Target]
) -> bool:
    """Watch until SIGTERM, ``options.duration`` or an error. True when the initial lists of
    the cluster completed: a run that never saw the cluster must not look like a good one."""
    stop = asyncio.Event()
    with contextlib.suppress(NotImplementedError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    store = await open_store(settings.store)
    output = WatchOutput(options.output, lang=options.lang)
    try:
        async with target as cluster:
            client = await connect(kubeconfig=cluster.kubeconfig, context=cluster.context)
            try:
                run = _assemble(settings, options, client, store, output, cluster)
                return await _watch(run, stop)
            finally:
                await client.aclose()
    finally:
        await store.aclose()
        output.close()


def _assemble(
    settings: Settings,
    options: WatchOptions,
    client: KubeClient,
    store: Store,
    output: WatchOutput,
    cluster: Target,
) -> _Run:
    metrics = WatchMetrics()
    gauge = leader_gauge(metrics.registry)  # before the notifier's: /metrics keeps its order
    term = Term(store, None if options.election is None else options.election.elector(client))

    async def kube_post(path: str, body: dict[str, object]) -> None:
        await client.post(path, body)

    notifier = Notifier(
        settings.alerts,
        store,
        options=AlertOptions.from_settings(settings.alerts, external_url=settings.ui.external_url),
        kube_post=kube_post,
        registry=metrics.registry,
        fence=term.holds,
    )
    health = notifier.health
    metrics.degraded = lambda: None if health.problem is None else f"store: {health.problem}"
    leadership = Leadership(
        term,
        notifier,
        Outbound(output, notifier),
        metrics.synced,
        LeadershipOptions(resolve_after=settings.watch.thresholds.resolve_after, gauge=gauge),
    )
    pipeline = WatchPipeline(
        client=client,
        settings=settings,
        emit=leadership.emit,
        metrics=metrics,
        namespaces=options.namespaces,
        streaming_list=options.streaming_list,
        cluster=settings.cluster.name or cluster.cluster or client.credentials.context,
    )
    output.announce_start(pipeline.namespaces, cluster.where, options.election)
    return _Run(options, store, output, metrics, notifier, leadership, pipeline)


async def _watch(run: _Run, stop: asyncio.Event) -> bool:
    servers: list[web.AppRunner] = []
    try:
        await _serve(run, servers)
        await _until_done(run, stop)
    finally:
        unwritten = await _wind_down(run)
        for server in servers:
            await server.cleanup()
    if run.leadership.failure is not None:
        raise run.leadership.failure
    backlog = run.notifier.backlog
    if unwritten or backlog.dropped:
        raise StoreUnwritten(
            f"the store did not take {unwritten} incident change(s) before the end of the run"
            f" ({backlog.dropped} more dropped from the full in-memory backlog): "
            f"{run.notifier.health.problem or 'see the log'}"
        )
    return run.metrics.synced.is_set()


async def _serve(run: _Run, servers: list[web.AppRunner]) -> None:
    """Start the metrics/health server and the console, each added to ``servers`` once up."""
    endpoint = run.options.metrics
    if endpoint is not None:
        try:
            servers.append(await serve_metrics(run.metrics, port=endpoint.port, host=endpoint.host))
        except OSError as e:
            raise UsageError(f"cannot serve metrics on {endpoint.host}:{endpoint.port}: {e}") from None
    if run.options.console is not None:
        servers.append(await start_console(run.store, run.options.console))


async def _until_done(run: _Run, stop: asyncio.Event) -> None:
    """Lead (or stand by) and watch until stopped, timed out, or the pipeline or leadership
    fails (raised); then stop publishing - a step-down - and stop watching."""
    leading = asyncio.create_task(run.leadership.run())
    work = asyncio.create_task(run.pipeline.run())
    announce = asyncio.create_task(run.output.announce_sync(run.metrics, run.pipeline))
    stopper = asyncio.create_task(stop.wait())
    try:
        waiting = {leading, work, stopper}
        done, _ = await asyncio.wait(waiting, timeout=run.options.duration, return_when="FIRST_COMPLETED")
        if work in done:
            work.result()  # the pipeline only ends on an error: raise it
        if leading in done:
            leading.result()
    finally:
        stopper.cancel()
        leading.cancel()
        await asyncio.gather(leading, return_exceptions=True)
        await run.leadership.stop()
        for task in (work, announce, stopper):
            task.cancel()
        await asyncio.gather(work, announce, stopper, return_exceptions=True)


async def _wind_down(run: _Run) -> int:
    """Close what the run opened, the Lease last; returns the changes the store never took."""
    if run.options.election is None:  # a replica that may not lead never prints the table
        await run.output.open_table(run.pipeline.detector.open_incidents())
    await run.pipeline.aclose()
    unwritten = await run.notifier.backlog.flush_within(UNWRITTEN_GRACE)
    await run.notifier.aclose()
    await run.leadership.release()
    return unwritten
