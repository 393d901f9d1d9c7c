"""``podsleuth watch``: list+watch the cluster, detect, diagnose, report incidents.

This module turns the command line into a ``WatchOptions`` and a ``Target`` and hands them to
``podsleuth.cli.watch_job.run_watch``; ``--demo`` is resolved here, from ``podsleuth.lab.demo``,
so the generic watch path never imports the lab.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator

import click

from podsleuth.cli.election import Election, default_identity, in_cluster
from podsleuth.cli.options import (
    chosen_lang,
    cluster_options,
    config_option,
    configured_locale,
    lang_option,
    output_option,
    store_option,
)
from podsleuth.cli.store_access import open_cli_store
from podsleuth.cli.ui import ConsoleOptions, token_source
from podsleuth.cli.watch_job import Endpoint, Target, WatchOptions, run_watch
from podsleuth.config import Settings, load_settings
from podsleuth.errors import ResourceError, UsageError
from podsleuth.lab import demo as lab_demo

log = logging.getLogger(__name__)


async def _check_store(url: str | None) -> None:
    """Open and close the store once before starting: a store that cannot be used (a directory,
    read-only, not a database, a newer schema) is one line and exit 2 here, not a traceback from
    inside the running pipeline."""
    store = await open_cli_store(url)
    await store.aclose()


@contextlib.asynccontextmanager
async def _demo_target() -> AsyncIterator[Target]:
    async with lab_demo.demo_kubeconfig() as kubeconfig:
        yield Target(kubeconfig, context=None, where="the demo cluster", cluster=lab_demo.DEMO_CLUSTER)


def _election(
    namespace: str | None,
    name: str,
    identity: str | None,
    timings: tuple[float, float, float],
) -> Election:
    lease_duration, renew_deadline, retry_period = timings
    if not 0 < retry_period < renew_deadline < lease_duration:
        raise UsageError(
            "leader election needs --retry-period < --renew-deadline < --lease-duration, got "
            f"{retry_period:g} < {renew_deadline:g} < {lease_duration:g}"
        )
    return Election(
        namespace=namespace or os.environ.get("POD_NAMESPACE") or "podsleuth",
        name=name,
        identity=identity or default_identity(),
        lease_duration=lease_duration,
        renew_deadline=renew_deadline,
        retry_period=retry_period,
    )


def _console(
    settings: Settings, port: int, host: str, token_file: str | None, lang: str
) -> ConsoleOptions | None:
    """The console a watcher serves speaks the watch's language (a browser may switch)."""
    if not port:
        return None
    return ConsoleOptions(
        host=host,
        port=port,
        token=token_source(token_file, "--ui-token-file"),
        lang=lang,
        external_url=settings.ui.external_url,
    )


@click.command(name="watch")
@cluster_options
@config_option
@output_option
@lang_option
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
    "--ui-port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Serve the web console (docs/console.md) over this watcher's store on this port; 0 = off.",
)
@click.option("--ui-host", default="127.0.0.1", show_default=True, help="Address the console listens on.")
@click.option(
    "--ui-token-file",
    default=None,
    help="File with the token that allows writes (silences) in the console, re-read while it runs "
    "(a mounted Secret may be created later); without it, or while it is missing, read-only.",
)
@click.option(
    "--streaming-list/--no-streaming-list",
    default=False,
    show_default=True,
    help="Start with a streaming list (sendInitialEvents, Kubernetes 1.27+) instead of a paginated list.",
)
@click.option(
    "--leader-elect/--no-leader-elect",
    default=None,
    help="Compete for a Lease with other replicas; only the leader prints and sends notifications, "
    "standbys keep watching to take over warm. Default: on in a cluster (in-cluster config), off elsewhere.",
)
@click.option(
    "--lease-namespace",
    default=None,
    help="Namespace of the Lease. Default: $POD_NAMESPACE, else podsleuth.",
)
@click.option("--lease-name", default="podsleuth-watcher", show_default=True, help="Name of the Lease.")
@click.option(
    "--identity",
    default=None,
    help="This replica's holderIdentity on the Lease. Default: $POD_NAME, else HOSTNAME_PID.",
)
@click.option(
    "--lease-duration",
    type=click.FloatRange(min=1),
    default=15.0,
    show_default=True,
    help="Seconds a standby waits after the last renewal before taking the Lease over.",
)
@click.option(
    "--renew-deadline",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds the leader keeps leading without a successful renewal (less than --lease-duration).",
)
@click.option(
    "--retry-period",
    type=click.FloatRange(min=0, min_open=True),
    default=2.0,
    show_default=True,
    help="Seconds between renewals and acquisition attempts (less than --renew-deadline).",
)
@click.option(
    "--demo",
    is_flag=True,
    help="Watch an embedded demo cluster (an in-process API server replaying the founding incident "
    "and everyday failures) instead of a real one; "
    f"stops after {lab_demo.DEMO_DURATION:g}s unless --duration is given.",
)
def command(
    kubeconfig: str | None,
    context: str | None,
    namespaces: tuple[str, ...],
    config_path: str | None,
    output: str,
    lang: str | None,
    store_url: str | None,
    duration: float | None,
    metrics_port: int,
    metrics_host: str,
    ui_port: int,
    ui_host: str,
    ui_token_file: str | None,
    streaming_list: bool,
    leader_elect: bool | None,
    lease_namespace: str | None,
    lease_name: str,
    identity: str | None,
    lease_duration: float,
    renew_deadline: float,
    retry_period: float,
    demo: bool,
) -> None:
    """List+watch pods, events and nodes; detect anomalies, diagnose them, report incidents.

    With --output json, one line per incident change (incident.opened / .updated / .resolved)
    goes to stdout, in the shape of docs/contract.md; logs go to stderr. With --leader-elect only
    the replica holding the Lease prints and notifies (docs/ha.md).
    """
    settings = load_settings(config_path)
    if store_url is not None:
        settings = settings.model_copy(update={"store": store_url})
    if demo and duration is None:
        duration = lab_demo.DEMO_DURATION
    if leader_elect is None:
        leader_elect = not demo and in_cluster(kubeconfig)
    election = None
    if leader_elect:
        if demo:
            raise UsageError("--leader-elect does not go with --demo")
        timings = (lease_duration, renew_deadline, retry_period)
        election = _election(lease_namespace, lease_name, identity, timings)
    if demo and not settings.store:
        settings = settings.model_copy(update={"store": lab_demo.DEMO_STORE})
    else:
        asyncio.run(_check_store(settings.store))
    watch_lang = chosen_lang(lang, configured_locale(settings))
    options = WatchOptions(
        output=output,
        namespaces=namespaces,
        duration=duration,
        streaming_list=streaming_list,
        metrics=Endpoint(host=metrics_host, port=metrics_port) if metrics_port else None,
        console=_console(settings, ui_port, ui_host, ui_token_file, watch_lang),
        election=election,
        lang=watch_lang,
    )
    where = kubeconfig or "the in-cluster API server"
    target = _demo_target() if demo else contextlib.nullcontext(Target(kubeconfig, context, where))
    if not asyncio.run(run_watch(settings, options, target)):
        # Exit 0 would tell a script "watched fine" after a run that never saw the cluster.
        raise ResourceError(
            "the watch ended before its first list of the cluster completed: the API server was "
            "unreachable or refused us (see the warnings above)"
        )
