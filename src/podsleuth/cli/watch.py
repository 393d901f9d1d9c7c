"""``podsleuth watch``: list+watch the cluster, detect, diagnose, report incidents."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import click

from podsleuth.alert.notifier import Notifier
from podsleuth.cli.options import cluster_options, config_option, output_option, store_option
from podsleuth.cli.render import render_change
from podsleuth.config import Settings, load_settings
from podsleuth.detect import IncidentChange
from podsleuth.errors import UsageError
from podsleuth.kube import KubeClient, connect
from podsleuth.metrics import WatchMetrics, serve_metrics
from podsleuth.resume import Resumption
from podsleuth.runner import WatchPipeline
from podsleuth.store import Store, open_store

log = logging.getLogger(__name__)

DEMO_DURATION = 12.0
DEMO_STORE = "sqlite:///:memory:"


@click.command(name="watch")
@cluster_options
@config_option
@output_option
@store_option
@click.option(
    "--duration",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Stop cleanly after this many seconds (exit code 0). Default: run until interrupted.",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Serve Prometheus /metrics, /healthz and /readyz on this port; 0 = off.",
)
@click.option(
    "--metrics-host", default="0.0.0.0", show_default=True, help="Address the metrics server listens on."
)
@click.option(
    "--streaming-list/--no-streaming-list",
    default=False,
    show_default=True,
    help="Start with a streaming list (sendInitialEvents, Kubernetes 1.27+) instead of a paginated list.",
)
@click.option(
    "--demo",
    is_flag=True,
    help="Watch an embedded demo cluster (an in-process API server replaying the founding incident "
    "and everyday failures) instead of a real one; "
    f"stops after {DEMO_DURATION:g}s unless --duration is given.",
)
def command(
    kubeconfig: str | None,
    context: str | None,
    namespaces: tuple[str, ...],
    config_path: str | None,
    output: str,
    store_url: str | None,
    duration: float | None,
    metrics_port: int,
    metrics_host: str,
    streaming_list: bool,
    demo: bool,
) -> None:
    """List+watch pods, events and nodes; detect anomalies, diagnose them, report incidents.

    With --output json, one line per incident change (incident.opened / .updated / .resolved)
    goes to stdout, in the shape of docs/contract.md; logs go to stderr.
    """
    settings = load_settings(config_path)
    if store_url is not None:
        settings = settings.model_copy(update={"store": store_url})
    if demo and duration is None:
        duration = DEMO_DURATION
    job = _Job(
        settings=settings,
        kubeconfig=kubeconfig,
        context=context,
        namespaces=namespaces,
        output=output,
        duration=duration,
        metrics_port=metrics_port,
        metrics_host=metrics_host,
        streaming_list=streaming_list,
        demo=demo,
    )
    asyncio.run(job.run())


class _Job:
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
    ) -> None:
        self.settings, self.kubeconfig, self.context = settings, kubeconfig, context
        self.namespaces, self.output, self.duration = namespaces, output, duration
        self.metrics_port, self.metrics_host = metrics_port, metrics_host
        self.streaming_list, self.demo = streaming_list, demo
        self.resumption = Resumption(())
        self.notifier: Notifier | None = None

    async def emit(self, change: IncidentChange) -> None:
        change = self.resumption.apply(change)
        if self.output == "json":
            sys.stdout.write(json.dumps(change.to_contract(), ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(render_change(change, color=sys.stdout.isatty()) + "\n")
        sys.stdout.flush()
        if self.notifier is not None:
            await self.notifier.submit(change.to_contract())

    async def run(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal.SIGTERM, stop.set)
        store = await open_store(DEMO_STORE if self.demo and not self.settings.store else self.settings.store)
        try:
            self.resumption = Resumption(await store.open_incidents())
            async with self._cluster() as kubeconfig:
                client = await connect(kubeconfig=kubeconfig, context=None if self.demo else self.context)
                try:
                    await self._watch(client, store, stop, where=kubeconfig)
                finally:
                    await client.aclose()
        finally:
            await store.aclose()

    async def _watch(
        self, client: KubeClient, store: Store, stop: asyncio.Event, *, where: str | None
    ) -> None:
        metrics = WatchMetrics()

        async def kube_post(path: str, body: dict[str, object]) -> None:
            await client.post(path, body)

        self.notifier = Notifier(self.settings.alerts, store, kube_post=kube_post, registry=metrics.registry)
        pipeline = WatchPipeline(
            client=client,
            settings=self.settings,
            emit=self.emit,
            metrics=metrics,
            namespaces=self.namespaces,
            streaming_list=self.streaming_list,
        )
        if self.output == "text":
            cluster = "the demo cluster" if self.demo else (where or "the in-cluster API server")
            scope = ", ".join(pipeline.namespaces) or "all namespaces"
            click.echo(f"podsleuth: watching {scope} of {cluster}", err=True)
        runner = None
        tasks: list[asyncio.Task[None]] = []
        try:
            if self.metrics_port:
                try:
                    runner = await serve_metrics(metrics, port=self.metrics_port, host=self.metrics_host)
                except OSError as e:
                    where_ = f"{self.metrics_host}:{self.metrics_port}"
                    raise UsageError(f"cannot serve metrics on {where_}: {e}") from None
            work = asyncio.create_task(pipeline.run())
            tasks = [
                work,
                asyncio.create_task(self.notifier.run()),
                asyncio.create_task(self._resolve_leftovers(metrics)),
            ]
            stopper = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait(
                {work, stopper}, timeout=self.duration, return_when="FIRST_COMPLETED"
            )
            stopper.cancel()
            if work in done:
                work.result()  # the pipeline only ends on an error: raise it
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await pipeline.aclose()
            await self.notifier.aclose()
            if runner is not None:
                await runner.cleanup()

    async def _resolve_leftovers(self, metrics: WatchMetrics) -> None:
        """Resolve stored incidents the synced cluster no longer shows (see podsleuth.resume)."""
        if not self.resumption.pending:
            return
        await metrics.synced.wait()
        await asyncio.sleep(self.settings.watch.thresholds.resolve_after)
        for change in self.resumption.resolve_leftovers(datetime.now(UTC)):
            await self.emit(change)

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
