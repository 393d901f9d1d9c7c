"""A fake API server with a small cluster, a fake node agent, and a helper that runs the chain."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from podsleuth.config import NodeAgentSettings
from podsleuth.diagnose.diagnoser import Diagnoser
from podsleuth.diagnose.evidence import DiagnosisRequest
from podsleuth.diagnose.knowledge import KnowledgeBase
from podsleuth.kube import KubeClient, connect
from podsleuth.lab.fake_apiserver import FakeApiServer
from podsleuth.lab.fake_apiserver.store import Kind

NODE = "node-3"
TS = "2026-01-01T00:00:00Z"


def pod(
    name: str,
    *,
    namespace: str = "shop",
    uid: str | None = None,
    node: str = NODE,
    containers: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    volumes: list[dict[str, Any]] | None = None,
    phase: str = "Pending",
    owner: str | None = None,
    reason: str | None = None,
    message: str | None = None,
    labels: dict[str, str] | None = None,
    pod_ip: str | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "uid": uid or f"uid-{name}",
        "creationTimestamp": TS,
        "labels": labels or {},
    }
    if owner:
        meta["ownerReferences"] = [
            {"kind": "ReplicaSet", "name": owner, "uid": f"rs-{owner}", "controller": True}
        ]
    status: dict[str, Any] = {"phase": phase, "containerStatuses": statuses or []}
    if reason:
        status.update(reason=reason, message=message)
    if pod_ip:
        status["podIP"] = pod_ip
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {
            "nodeName": node,
            "containers": containers or [{"name": "app", "image": "app:1"}],
            "volumes": volumes or [],
        },
        "status": status,
    }


def waiting(name: str, reason: str, message: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "ready": False,
        "restartCount": extra.pop("restarts", 0),
        "state": {"waiting": {"reason": reason, "message": message}},
        **extra,
    }


def node(
    name: str = NODE, *, conditions: dict[str, str] | None = None, taints: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    conds = {"Ready": "True", "MemoryPressure": "False", **(conditions or {})}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "uid": f"node-{name}"},
        "spec": {"taints": taints or []},
        "status": {"conditions": [{"type": t, "status": s} for t, s in conds.items()]},
    }


def event(pod_name: str, reason: str, message: str, *, namespace: str = "shop") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{pod_name}.{reason}", "namespace": namespace},
        "involvedObject": {"kind": "Pod", "name": pod_name, "namespace": namespace},
        "reason": reason,
        "message": message,
        "type": "Warning",
        "count": 3,
        "firstTimestamp": TS,
        "lastTimestamp": TS,
    }


@dataclass
class Cluster:
    api: FakeApiServer
    client: KubeClient
    agents: NodeAgentSettings = field(default_factory=lambda: NodeAgentSettings(discovery="off"))

    def put(self, plural: str, obj: dict[str, Any]) -> None:
        self.api.put(plural, copy.deepcopy(obj))

    async def diagnose(self, subject: DiagnosisRequest) -> dict[str, Any]:
        if subject.signature is None:
            sig = KnowledgeBase.default().signature_of(subject.message, subject.reason)
            subject = DiagnosisRequest(
                **{**{f: getattr(subject, f) for f in subject.__struct_fields__}, "signature": sig}
            )
        diagnosis = await Diagnoser(client=self.client, agents=self.agents, api_timeout=3.0).diagnose(subject)
        return diagnosis.to_dict()  # the contract's JSON form, as the store and the output have it


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    async with FakeApiServer(bookmark_interval=None) as api:
        for kind in (
            Kind("v1", "secrets", "Secret", True),
            Kind("v1", "configmaps", "ConfigMap", True),
            Kind("storage.k8s.io/v1", "csinodes", "CSINode", False),
        ):
            api.register(kind)
        api.put("nodes", node())
        client = await connect(kubeconfig=str(api.kubeconfig_path(tmp_path)), context=None)
        try:
            yield Cluster(api, client)
        finally:
            await client.aclose()


class FakeAgent:
    """The node agent's HTTP API with canned answers (the real one is exercised by the lab test)."""

    def __init__(
        self, findings: list[dict[str, Any]], mounts: dict[str, list[dict[str, Any]]], token: str = "s3cret"
    ) -> None:
        self.findings, self.mounts, self.token = findings, mounts, token
        self.requests: list[str] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _findings(self, request: web.Request) -> web.Response:
        self.requests.append(request.path_qs)
        if self.token and request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": "unauthorized"}, status=401)
        return web.json_response({"node": NODE, "summary": {}, "findings": self.findings})

    async def _mounts(self, request: web.Request) -> web.Response:
        self.requests.append(request.path_qs)
        uid = request.match_info["uid"]
        return web.json_response({"pod_uid": uid, "mounts": self.mounts.get(uid, []), "findings": []})

    async def __aenter__(self) -> FakeAgent:
        app = web.Application()
        app.router.add_get("/v1/findings", self._findings)
        app.router.add_get("/v1/pods/{uid}/mounts", self._mounts)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
