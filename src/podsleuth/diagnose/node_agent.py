"""Finding and asking the node agent of the incident's node.

Three ways to reach it (``node_agents.discovery``): in cluster through the agent DaemonSet's pod
on that node (label selector + ``spec.nodeName`` field selector, ``podIP:port``); out of cluster
through a configured URL per node (``static``); on the same host in-process (``local``, for
``lab`` and single-node setups). Every call is bounded by ``node_agents.timeout``; a missing or
silent agent yields ``AgentUnavailable`` with a reason the evidence can show. The bearer token is
read from ``token_file`` per call (rotation) and never logged. Without a ``token_file`` the
watcher presents its own ServiceAccount token (also read per call: the kubelet rotates projected
tokens), which an agent started with ``--token-review --allow-user <our SA>`` accepts: no shared
Secret to create or rotate.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp
import msgspec

from podsleuth.config import NodeAgentSettings
from podsleuth.diagnose import api_objects as o
from podsleuth.diagnose.phrases import Phrase, phrase
from podsleuth.errors import ApiError, NodeAgentError
from podsleuth.kube import KubeClient
from podsleuth.node.findings import Finding

DEFAULT_KUBELET_DIR = "/var/lib/kubelet"
SA_TOKEN_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/token"


class AgentUnavailable(NodeAgentError):
    """No answer from the node agent; ``str`` says why (in English), ``said`` in every language,
    without secrets."""

    def __init__(self, said: Phrase) -> None:
        super().__init__(said.render())
        self.said = said


@dataclass(slots=True)
class AgentReport:
    """What the agent said: every finding of the node (kernel ones within the window) and the
    mount records of the pod."""

    source: str
    findings: list[Finding]
    mounts: list[dict[str, Any]] = field(default_factory=list)


async def discover(client: KubeClient | None, settings: NodeAgentSettings, node: str) -> str:
    """The agent's base URL for ``node`` (or ``"local"``)."""
    mode = settings.discovery
    if mode == "off":
        raise AgentUnavailable(phrase("agent.discovery-off"))
    if mode == "local":
        return "local"
    if mode == "static":
        url = settings.urls.get(node)
        if not url:
            raise AgentUnavailable(phrase("agent.no-url", node=node))
        return url.rstrip("/")
    if client is None:
        raise AgentUnavailable(phrase("agent.no-client"))
    params = {"labelSelector": settings.label_selector, "fieldSelector": f"spec.nodeName={node}"}
    try:
        async with asyncio.timeout(settings.timeout):
            body = await client.get(f"/api/v1/namespaces/{settings.namespace}/pods", params)
        pods = msgspec.json.decode(body, type=o.PodList).items
    except (ApiError, TimeoutError, msgspec.DecodeError, msgspec.ValidationError) as e:
        error = str(e) or f"no answer within {settings.timeout:g}s"  # a TimeoutError says nothing
        raise AgentUnavailable(phrase("agent.list-failed", namespace=settings.namespace, error=error)) from e
    ready = [p for p in pods if p.status.pod_ip and p.status.phase == "Running"]
    if not ready:
        raise AgentUnavailable(
            phrase("agent.no-pod", selector=settings.label_selector, namespace=settings.namespace, node=node)
        )
    return f"http://{ready[0].status.pod_ip}:{settings.port}"


def _token(settings: NodeAgentSettings, sa_token_file: str | None = SA_TOKEN_FILE) -> str | None:
    """The configured token file wins; else our ServiceAccount token when we run in a pod (none
    outside a cluster: then the agent must be ``--insecure-no-auth`` or the call gets a 401)."""
    if not settings.token_file:
        if not sa_token_file or not os.path.exists(sa_token_file):
            return None
        try:
            with open(sa_token_file, encoding="utf-8") as f:
                return f.read().strip() or None
        except OSError as e:
            raise AgentUnavailable(
                phrase("agent.sa-token-unreadable", path=sa_token_file, error=e.strerror)
            ) from e
    try:
        with open(settings.token_file, encoding="utf-8") as f:
            return f.read().strip() or None
    except OSError as e:
        raise AgentUnavailable(phrase("agent.token-unreadable", error=e.strerror)) from e


BUSY_RETRIES = 3


async def _get_json(session: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> dict[str, Any]:
    for _ in range(BUSY_RETRIES):
        async with session.get(url, headers=headers) as resp:
            if resp.status != 503:
                return await _answer(resp)
        await asyncio.sleep(0.5)  # all probe slots busy: the agent asks for a short retry
    raise AgentUnavailable(phrase("agent.busy"))


async def _answer(resp: aiohttp.ClientResponse) -> dict[str, Any]:
    if resp.status == 401:
        raise AgentUnavailable(phrase("agent.token-rejected"))
    if resp.status == 403:
        raise AgentUnavailable(phrase("agent.identity-refused"))
    if resp.status >= 400:
        raise AgentUnavailable(phrase("agent.http-status", status=resp.status))
    data = await resp.json(content_type=None)
    if not isinstance(data, dict):
        raise AgentUnavailable(phrase("agent.not-json"))
    return data


async def ask_http(
    base: str,
    settings: NodeAgentSettings,
    *,
    pod_uid: str | None,
    since: float,
    sa_token_file: str | None = SA_TOKEN_FILE,
) -> AgentReport:
    token = _token(settings, sa_token_file)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    timeout = aiohttp.ClientTimeout(total=settings.timeout)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            # one after the other: the second answer comes from the agent's 2 s scan cache
            answers = [await _get_json(session, f"{base}/v1/findings?since={int(since)}s", headers)]
            if pod_uid:
                answers.append(
                    await _get_json(session, f"{base}/v1/pods/{quote(pod_uid, safe='')}/mounts", headers)
                )
    except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as e:
        error = e.__class__.__name__ + (f": {e}" if str(e) else "")
        raise AgentUnavailable(phrase("agent.unreachable", url=base, error=error)) from e
    findings = [Finding.from_dict(d) for d in answers[0].get("findings") or [] if isinstance(d, dict)]
    mounts = list(answers[1].get("mounts") or []) if len(answers) > 1 else []
    return AgentReport(source=base, findings=findings, mounts=mounts)


async def ask_local(
    settings: NodeAgentSettings, *, kubelet_dir: str | None, pod_uid: str | None, since: float
) -> AgentReport:
    """In-process scan (node check) in a thread; the scan itself never hangs on a dead mount."""
    from podsleuth.node.check import CheckOptions, check_node

    opts = CheckOptions(kubelet_dirs=(kubelet_dir or DEFAULT_KUBELET_DIR,), since=since)
    try:
        report = await asyncio.wait_for(asyncio.to_thread(check_node, opts), timeout=settings.timeout + 5.0)
    except TimeoutError as e:
        raise AgentUnavailable(phrase("agent.local-timeout")) from e
    except Exception as e:
        raise AgentUnavailable(phrase("agent.local-failed", error=str(e))) from e
    mounts = [m.to_dict() for m in report.pod_mounts(pod_uid)] if pod_uid else []
    return AgentReport(source="local", findings=report.findings, mounts=mounts)


MAX_CONCURRENT_ASKS = 64
"""Agents asked (discovery included) at the same time per event loop. A burst of incidents (a
zone outage over thousands of nodes) opened one agent connection per incident at once, and its
discovery lists queued behind the API client's 32 connections inside their own timeout, so
most failed as "no answer" (bench/bench_nodes.py, docs/performance.md "5,000 nodes"). The
others wait their turn; every call's timeout starts when it has its slot."""

_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _ask_slot() -> asyncio.Semaphore:
    """The running loop's semaphore (a Semaphore belongs to the loop that first waits on it)."""
    loop = asyncio.get_running_loop()
    slot = _slots.get(loop)
    if slot is None:
        slot = _slots[loop] = asyncio.Semaphore(MAX_CONCURRENT_ASKS)
    return slot


async def ask(
    client: KubeClient | None,
    settings: NodeAgentSettings,
    *,
    node: str,
    pod_uid: str | None,
    kubelet_dir: str | None,
    since: float,
    sa_token_file: str | None = SA_TOKEN_FILE,
) -> AgentReport:
    if settings.discovery == "local":
        return await ask_local(settings, kubelet_dir=kubelet_dir, pod_uid=pod_uid, since=since)
    async with _ask_slot():
        base = await discover(client, settings, node)
        return await ask_http(base, settings, pod_uid=pod_uid, since=since, sa_token_file=sa_token_file)
