"""The running ``podsleuth watch``: pipeline, store, notifier, metrics, and leader election.

``cli/watch.py`` parses the options; this module is what runs. With leader election, only the
leader publishes (prints, records, notifies); standbys keep the pipeline warm and take over
with a catch-up against the shared store.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sqlite3
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import msgspec
from prometheus_client import Gauge

from podsleuth.alert import failpoints
from podsleuth.alert.notifier import Notifier
from podsleuth.alert.options import AlertOptions
from podsleuth.cli.render import LiveView, use_color
from podsleuth.cli.ui import ConsoleOptions, start_console
from podsleuth.config import Settings
from podsleuth.detect import IncidentChange
from podsleuth.errors import PodsleuthError, UsageError
from podsleuth.kube import KubeClient, connect
from podsleuth.kube.leader import LeaderElector
from podsleuth.metrics import WatchMetrics, serve_metrics
from podsleuth.resume import Resumption, Shadow, same_content
from podsleuth.runner import WatchPipeline
from podsleuth.store import Store, open_store
from podsleuth.store.base import IncidentRecord

log = logging.getLogger(__name__)

DEMO_DURATION = 12.0
UNWRITTEN_GRACE = 5.0
"""At shutdown, how long changes waiting for a failing store are retried before giving up."""


class StoreUnwritten(PodsleuthError):
    """The run ends with incident changes the store never took: exit 1, never a silent 0."""

DEMO_STORE = "sqlite:///:memory:"
SERVICE_ACCOUNT_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


def in_cluster(
    kubeconfig: str | None, *, env: dict[str, str] | None = None, token: Path = SERVICE_ACCOUNT_TOKEN
) -> bool:
    """Running in a pod with in-cluster config (no kubeconfig given or in $KUBECONFIG)."""
    env = dict(os.environ) if env is None else env
    return (
        kubeconfig is None
        and not env.get("KUBECONFIG")
        and bool(env.get("KUBERNETES_SERVICE_HOST"))
        and token.exists()
    )


def default_identity(*, env: dict[str, str] | None = None) -> str:
    """$POD_NAME in a pod; elsewhere hostname and pid, so two watchers on one host differ."""
    env = dict(os.environ) if env is None else env
    return env.get("POD_NAME") or f"{socket.gethostname()}_{os.getpid()}"


@dataclass(frozen=True)
class Election:
    """Leader election settings of one ``watch``: the Lease to compete for and its timings."""

    namespace: str
    name: str
    identity: str
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0


def _write_stdout(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _plural(n: int, things: str) -> str:
    return f"{n:,} {things if n != 1 else things[:-1]}"


async def _announce_sync(metrics: WatchMetrics, pipeline: WatchPipeline, started: float) -> None:
    """The live view's start line, once every initial list is in: the watch is really on."""
    await metrics.synced.wait()
    counts = pipeline.synced_counts
    parts = [_plural(counts.get(r, 0), r) for r in ("pods", "nodes", "events")]
    took = time.monotonic() - started
    click.echo(f"podsleuth: synced {', '.join(parts)} in {took:.1f} s; watching", err=True)


class WatchJob:
    def __init__(
        self,
        *,
        settings: Settings,
        kubeconfig: str | None,
        context: str | None,
        namespaces: tuple[str, ...],
        output: str,
        duration: float | None,
        metrics_port: int,
        metrics_host: str,
        streaming_list: bool,
        demo: bool,
        election: Election | None = None,
        console: ConsoleOptions | None = None,
    ) -> None:
        self.settings, self.kubeconfig, self.context = settings, kubeconfig, context
        self.console = console
        self.view = LiveView(color=use_color(sys.stdout))
        self.namespaces, self.output, self.duration = namespaces, output, duration
        self.metrics_port, self.metrics_host = metrics_port, metrics_host
        self.streaming_list, self.demo = streaming_list, demo
        self.election = election
        self.resumption = Resumption(())
        self.notifier: Notifier | None = None
        self.store: Store | None = None
        self.elector: LeaderElector | None = None
        self.shadow = Shadow()
        """Every change the detector made, latest per incident: what this process publishes
        once it leads and has caught up with the store. Without election too: the first changes
        can come while the store is still being read, and must not be lost (or a receiver's
        first news of an incident would be an update)."""
        self.active = False
        """True while this process publishes: it leads (or runs without election) and has caught
        up with the store. Standbys print nothing, record nothing, send nothing."""
        self._publish_lock = asyncio.Lock()
        self._stdout = ThreadPoolExecutor(max_workers=1, thread_name_prefix="podsleuth-stdout")
        self._leader_tasks: set[asyncio.Task[None]] = set()
        self._leader_gauge: Gauge | None = None
        self._metrics: WatchMetrics | None = None
        self._failure: BaseException | None = None
        self._failed = asyncio.Event()

    async def emit(self, change: IncidentChange) -> None:
        self.shadow.note(change)
        if not self.active:
            return
        async with self._publish_lock:
            if self.active and (self.elector is None or self.elector.is_leader):
                await self._publish(change)

    async def _publish(self, change: IncidentChange, *, replay: bool = False) -> None:
        """Print, record and notify; ``replay``: a catch-up change a predecessor may have emitted
        (always told), not a re-detection of a stored incident (told only if its count grew)."""
        news = self.resumption.apply(change) if replay else self.resumption.news(change)
        if news is None:
            return  # a stored incident re-detected after a restart, no new occurrence: old news
        change = news
        if self.output == "json":
            text: str | None = json.dumps(change.to_contract(), ensure_ascii=False)
        else:
            text = self.view.render(change)  # None: nothing a person would notice changed
        if text is not None:
            # a slow reader of stdout (a full pipe) must not freeze the event loop: lease renewal,
            # watch reads and deliveries go on; one writer thread keeps the lines in order
            await asyncio.get_running_loop().run_in_executor(self._stdout, _write_stdout, text + "\n")
        failpoints.hit("publish.before-store")
        if self.notifier is not None:
            try:
                await self.notifier.submit(change.to_contract())
            except PodsleuthError as e:
                log.error("incident %s not queued for alerting: %s", change.incident.id, e)
            except (sqlite3.Error, OSError) as e:
                log.error("incident %s not queued for alerting: the store failed: %s", change.incident.id, e)

    # --- leadership ---
    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self._leader_tasks.add(task)
        task.add_done_callback(self._leader_done)

    def _leader_done(self, task: asyncio.Task[None]) -> None:
        self._leader_tasks.discard(task)
        if not task.cancelled() and (e := task.exception()) is not None:
            log.error("notifying failed: %s", e, exc_info=e)
            self._failure = e
            self._failed.set()

    def _started_leading(self) -> None:
        if self._leader_gauge is not None:
            self._leader_gauge.set(1)
        self._spawn(self._lead())

    def _stopped_leading(self) -> None:
        """Stop at once: no more prints, batches or deliveries; those in flight are cancelled, so
        a deposed leader has stopped sending before anybody can take the Lease over (the next
        leader sends them again, marked as possible duplicates)."""
        self.active = False
        if self._leader_gauge is not None:
            self._leader_gauge.set(0)
        for task in list(self._leader_tasks):
            task.cancel()
        if self.notifier is not None:
            self.notifier.cancel_deliveries()

    async def _fence(self) -> bool:
        """Asked before every sink call: still the leader, by the Lease and by the store."""
        elector, store = self.elector, self.store
        if elector is None or store is None:
            return True
        if not elector.is_leader:
            return False
        return await store.holds_fence(holder=elector.identity, generation=elector.generation)

    async def _take_over(self) -> bool:
        """Name this replica the leader in the store (fencing a deposed one off the outbox) and
        adopt what a dead or deposed predecessor handed out and never finished."""
        assert self.store is not None
        elector = self.elector
        if elector is not None:
            generation = elector.generation
            if not await self.store.fence(holder=elector.identity, generation=generation, at=time.time()):
                log.warning("leader election: the store names a newer leader than generation %d; not "
                            "delivering until the Lease says who leads", generation)
                return False
        adopted = await self.store.adopt_deliveries()
        if adopted:
            log.warning("took over %d delivery(ies) a previous leader left unfinished; sending them again "
                        "marked as possible duplicates", adopted)
        return True

    async def _lead(self) -> None:
        """Catch up with the shared store, then publish and notify until cancelled."""
        assert self.store is not None and self.notifier is not None
        if not await self._take_over():
            return
        self.active = True
        self._spawn(self.notifier.run())  # first: what a predecessor left in the outbox goes out now
        async with self._publish_lock:
            replay = self.shadow.snapshot()
            records = await self.store.open_incidents()
            self.resumption = Resumption(records)
            await self._catch_up(replay, {r.fingerprint: r for r in records})
        self._spawn(self._resolve_leftovers())

    async def _catch_up(self, replay: list[IncidentChange], stored: dict[str, IncidentRecord]) -> None:
        """Publish what the store does not know yet: incidents opened or changed while another
        replica led (or none did), and resolves of incidents the store still has open."""
        published = 0
        for change in replay:
            record = stored.pop(change.incident.fingerprint, None)
            if change.kind == "incident.resolved":
                if record is None:
                    continue  # nobody was told it was open, or its resolve is already stored
            else:
                change = msgspec.structs.replace(change, kind="incident.opened")
                if record is not None:
                    mapped = self.resumption.apply(change)  # now an update of the stored incident
                    if same_content(mapped, record):
                        continue
            # A predecessor may have emitted a change it never delivered: always tell it. Without
            # election there is no predecessor, only this process's own restart: news only.
            await self._publish(change, replay=self.election is not None)
            published += 1
        if replay:
            log.info("leader catch-up: %d incident(s) known, %d published", len(replay), published)

    async def run(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal.SIGTERM, stop.set)
        store = await open_store(DEMO_STORE if self.demo and not self.settings.store else self.settings.store)
        self.store = store
        try:
            async with self._cluster() as kubeconfig:
                client = await connect(kubeconfig=kubeconfig, context=None if self.demo else self.context)
                try:
                    await self._watch(client, store, stop, where=kubeconfig)
                finally:
                    await client.aclose()
        finally:
            await store.aclose()
            self._stdout.shutdown(wait=True)

    async def _watch(
        self, client: KubeClient, store: Store, stop: asyncio.Event, *, where: str | None
    ) -> None:
        metrics = WatchMetrics()
        self._metrics = metrics
        self._leader_gauge = Gauge(
            "podsleuth_leader",
            "1 while this replica prints and sends notifications (always 1 without leader election).",
            registry=metrics.registry,
        )

        async def kube_post(path: str, body: dict[str, object]) -> None:
            await client.post(path, body)

        options = AlertOptions.from_settings(self.settings.alerts, external_url=self.settings.ui.external_url)
        self.notifier = Notifier(
            self.settings.alerts,
            store,
            options=options,
            kube_post=kube_post,
            registry=metrics.registry,
            fence=self._fence,
        )
        health = self.notifier.health
        metrics.degraded = lambda: None if health.problem is None else f"store: {health.problem}"
        pipeline = WatchPipeline(
            client=client,
            settings=self.settings,
            emit=self.emit,
            metrics=metrics,
            namespaces=self.namespaces,
            streaming_list=self.streaming_list,
            cluster=self.settings.cluster.name or ("demo" if self.demo else client.credentials.context),
        )
        election = self.election
        if self.output == "text":
            cluster = "the demo cluster" if self.demo else (where or "the in-cluster API server")
            scope = ", ".join(pipeline.namespaces) or "all namespaces"
            click.echo(f"podsleuth: watching {scope} of {cluster}", err=True)
            if election is not None:
                click.echo(
                    f"podsleuth: leader election on lease {election.namespace}/{election.name} as "
                    f"{election.identity}: silent until leading",
                    err=True,
                )
        runner = None
        console_runner = None
        unwritten = 0
        tasks: list[asyncio.Task[None]] = []
        elector_task: asyncio.Task[None] | None = None
        try:
            if self.metrics_port:
                try:
                    runner = await serve_metrics(metrics, port=self.metrics_port, host=self.metrics_host)
                except OSError as e:
                    where_ = f"{self.metrics_host}:{self.metrics_port}"
                    raise UsageError(f"cannot serve metrics on {where_}: {e}") from None
            if self.console is not None:
                console_runner = await start_console(store, self.console)
            if election is None:
                self._started_leading()
            else:
                self._leader_gauge.set(0)
                self.elector = LeaderElector(
                    client,
                    namespace=election.namespace,
                    name=election.name,
                    identity=election.identity,
                    lease_duration=election.lease_duration,
                    renew_deadline=election.renew_deadline,
                    retry_period=election.retry_period,
                    on_started_leading=self._started_leading,
                    on_stopped_leading=self._stopped_leading,
                )
                elector_task = asyncio.create_task(self.elector.run())
            work = asyncio.create_task(pipeline.run())
            tasks = [work]
            if self.output == "text":
                tasks.append(asyncio.create_task(_announce_sync(metrics, pipeline, time.monotonic())))
            stopper = asyncio.create_task(stop.wait())
            failed = asyncio.create_task(self._failed.wait())
            waiting = {work, stopper, failed} | ({elector_task} if elector_task is not None else set())
            done, _ = await asyncio.wait(waiting, timeout=self.duration, return_when="FIRST_COMPLETED")
            stopper.cancel()
            failed.cancel()
            if work in done:
                work.result()  # the pipeline only ends on an error: raise it
            if elector_task is not None and elector_task in done:
                elector_task.result()
        finally:
            if elector_task is not None:
                elector_task.cancel()
                await asyncio.gather(elector_task, return_exceptions=True)
            self._stopped_leading()
            await asyncio.gather(*self._leader_tasks, return_exceptions=True)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self.output == "text" and (self.active or election is None):
                table = self.view.open_table(pipeline.detector.open_incidents())
                await asyncio.get_running_loop().run_in_executor(self._stdout, _write_stdout, table + "\n")
            await pipeline.aclose()
            unwritten = await self.notifier.backlog.flush_within(UNWRITTEN_GRACE)
            await self.notifier.aclose()
            if self.elector is not None:
                await self.elector.release(within=min(5.0, self.elector.renew_deadline))
            if runner is not None:
                await runner.cleanup()
            if console_runner is not None:
                await console_runner.cleanup()
        if self._failure is not None:
            raise self._failure
        if unwritten or self.notifier.backlog.dropped:
            raise StoreUnwritten(
                f"the store did not take {unwritten} incident change(s) before the end of the run"
                f" ({self.notifier.backlog.dropped} more dropped from the full in-memory backlog): "
                f"{self.notifier.health.problem or 'see the log'}"
            )

    async def _resolve_leftovers(self) -> None:
        """Resolve stored incidents the synced cluster no longer shows (see podsleuth.resume)."""
        if not self.resumption.pending or self._metrics is None:
            return
        await self._metrics.synced.wait()
        await asyncio.sleep(self.settings.watch.thresholds.resolve_after)
        async with self._publish_lock:
            if not self.active:
                return
            for change in self.resumption.resolve_leftovers(datetime.now(UTC)):
                await self._publish(change)

    @contextlib.asynccontextmanager
    async def _cluster(self) -> AsyncIterator[str | None]:
        """The kubeconfig to use: the user's, or one pointing at the embedded demo server."""
        if not self.demo:
            yield self.kubeconfig
            return
        from podsleuth.lab.demo import DemoCluster

        with tempfile.TemporaryDirectory(prefix="podsleuth-demo-") as tmp:
            async with DemoCluster(now=datetime.now(UTC)) as cluster:
                yield str(cluster.api.kubeconfig_path(Path(tmp)))
