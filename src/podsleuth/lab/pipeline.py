"""The lab's cluster side: the seeded incident served by a fake API server, watched by the real
``WatchPipeline``, diagnosed with the real node agent over HTTP.

Nothing is simulated below the API: the agent (``podsleuth.node.server`` on 127.0.0.1 with a
bearer token, found through a static ``node_agents.urls`` entry for this node) scans the seeded
kubelet tree, the live mount table and ``/dev/kmsg``; the watch sees only what a kube-apiserver
would show. ``run_lab`` returns once the full diagnosis of the pod's incident arrived (or its
time is up) and always stops what it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from podsleuth.config import NodeAgentSettings, Settings
from podsleuth.detect import IncidentChange
from podsleuth.diagnose.diagnosis import as_diagnosis
from podsleuth.kube import connect
from podsleuth.lab import seed_objects
from podsleuth.lab.fake_apiserver import FakeApiServer
from podsleuth.lab.seed import SeededIncident
from podsleuth.metrics import WatchMetrics
from podsleuth.node.check import CheckOptions
from podsleuth.node.server import ServerConfig, make_app
from podsleuth.runner import WatchPipeline

Emit = Callable[[IncidentChange], Awaitable[None]]
DEFAULT_TIMEOUT = 20.0


@dataclass
class LabRun:
    pod: str
    """The seeded application pod: the incident the lab is about (the CSI plugin pod's own
    OOM-kill incident is real too, but it is evidence, not the story)."""
    changes: list[IncidentChange] = field(default_factory=list)
    agent_url: str = ""
    api_url: str = ""

    def final(self) -> IncidentChange | None:
        """The seeded pod's last change carrying the full diagnosis (one with a decision ``rule``)."""
        ours = [c for c in self.changes if self.pod in (c.incident.pod, *c.incident.pods)]
        full = [c for c in ours if _full(c)]
        return full[-1] if full else (ours[-1] if ours else None)


@contextlib.asynccontextmanager
async def node_agent(kubelet_dir: str, token_file: str) -> AsyncIterator[str]:
    """The real agent app on an ephemeral localhost port; yields its base URL."""
    config = ServerConfig(
        options=CheckOptions(kubelet_dirs=(kubelet_dir,), mount_pid="self"),
        host="127.0.0.1",
        port=0,
        token_file=token_file,
    )
    runner = web.AppRunner(make_app(config), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def _full(change: IncidentChange) -> bool:
    """Carries the full chain's diagnosis (it ran the decision rules), not the first one."""
    diagnosis = as_diagnosis(change.incident.diagnosis)
    return diagnosis is not None and diagnosis.full


def _diagnosed(run: LabRun, pod: str) -> bool:
    return any(c.incident.pod == pod and _full(c) for c in run.changes)


async def run_lab(
    seeded: SeededIncident, *, emit: Emit | None = None, within: float = DEFAULT_TIMEOUT, agent: bool = True
) -> LabRun:
    """Serve, watch, diagnose; ``agent=False`` points discovery at a closed port instead
    (the unreachable-agent case)."""
    run = LabRun(pod=seeded.pod_name)

    async def collect(change: IncidentChange) -> None:
        run.changes.append(change)
        if emit is not None:
            await emit(change)

    with tempfile.TemporaryDirectory(prefix="podsleuth-lab-") as tmp:
        token_file = os.path.join(tmp, "agent-token")
        fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))
        async with contextlib.AsyncExitStack() as stack:
            if agent:
                run.agent_url = await stack.enter_async_context(node_agent(seeded.kubelet_dir, token_file))
            else:
                run.agent_url = "http://127.0.0.1:9"  # discard port: nothing listens
            api = await stack.enter_async_context(FakeApiServer(bookmark_interval=None))
            run.api_url = api.url
            for plural, obj in seed_objects.objects(seeded):
                api.put(plural, obj)
            settings = Settings(
                node_agents=NodeAgentSettings(
                    discovery="static",
                    urls={seeded.node_name: run.agent_url},
                    token_file=token_file,
                    timeout=8.0,
                )
            )
            client = await connect(kubeconfig=str(api.kubeconfig_path(Path(tmp))), context=None)
            stack.push_async_callback(client.aclose)
            pipeline = WatchPipeline(client=client, settings=settings, emit=collect, metrics=WatchMetrics())
            stack.push_async_callback(pipeline.aclose)
            task = asyncio.create_task(pipeline.run())
            try:
                async with asyncio.timeout(within):
                    while not _diagnosed(run, seeded.pod_name):
                        if task.done():
                            task.result()
                        await asyncio.sleep(0.05)
            except TimeoutError:
                pass
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    return run
