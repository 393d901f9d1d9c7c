"""``podsleuth watch`` restarted on the same store: no duplicate alert, nothing lost, and
incidents that healed while it was down are resolved. A real webhook receiver listens."""

from __future__ import annotations

import asyncio
import copy
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from podsleuth.lab.demo_cluster import demo_steps
from podsleuth.lab.fake_apiserver import FakeApiServer
from tests.alert.helpers import http_receiver
from tests.waiting import eventually


async def _watch(kubeconfig: Path, store: Path, config: Path, seconds: float) -> list[dict[str, Any]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "podsleuth", "watch", "--kubeconfig", str(kubeconfig),
        "--store", f"sqlite:///{store}", "--config", str(config), "--duration", str(seconds), "-o", "json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode()
    return [json.loads(line) for line in out.decode().splitlines()]


async def test_restart_sends_no_duplicate_and_resolves_what_healed(tmp_path: Path) -> None:
    async with http_receiver() as rec:
        await _restart_scenario(tmp_path, f"{rec.url}/hook", rec.json_bodies)


async def _restart_scenario(tmp_path: Path, hook: str, received: list[dict[str, Any]]) -> None:
    config = tmp_path / "podsleuth.yaml"
    config.write_text(
        f"""
watch:
  thresholds: {{resolve_after: 1s}}
alerts:
  group_wait: 0s
  receivers:
    - name: hook
      webhook: {{url: "{hook}"}}
  routes:
    - receivers: [hook]
"""
    )
    store = tmp_path / "podsleuth.db"
    (etl,) = [s.obj for s in demo_steps(datetime.now(UTC)) if s.obj["metadata"]["name"].startswith("etl-")]
    async with FakeApiServer() as api:
        api.put("pods", etl)
        kubeconfig = api.kubeconfig_path(tmp_path)

        first = await _watch(kubeconfig, store, config, 3)
        assert first[0]["event"] == "incident.opened", first
        assert {line["event"] for line in first[1:]} <= {"incident.updated"}  # e.g. the full diagnosis
        incident_id = first[0]["incident"]["id"]
        assert {line["incident"]["id"] for line in first} == {incident_id}
        assert received[0]["event"] == "incident.opened"
        assert {r["incident"]["id"] for r in received} == {incident_id}

        second = await _watch(kubeconfig, store, config, 3)
        assert all(line["event"] != "incident.opened" for line in second), second
        assert {line["incident"]["id"] for line in second} <= {incident_id}
        assert [r["event"] for r in received].count("incident.opened") == 1, "a restart re-alerted"

        api.delete("pods", "data", etl["metadata"]["name"])
        third = await _watch(kubeconfig, store, config, 4)
        assert [(line["event"], line["incident"]["id"]) for line in third] == [
            ("incident.resolved", incident_id)
        ]
        await _until(lambda: [r["event"] for r in received][-1] == "incident.resolved")


def _api_pods() -> tuple[dict[str, Any], dict[str, Any]]:
    """The demo's api pod failing to pull its image: as ErrImagePull, then as ImagePullBackOff."""
    steps = demo_steps(datetime.now(UTC))
    pull, backoff = [s.obj for s in steps if s.obj["metadata"]["name"].startswith("api-")]
    return pull, backoff


async def _watch_while(
    kubeconfig: Path, store: Path, config: Path, seconds: float, during: Any
) -> list[dict[str, Any]]:
    """``_watch`` with ``during()`` awaited while it runs."""
    run = asyncio.create_task(_watch(kubeconfig, store, config, seconds))
    await during()
    return await run


async def test_restart_does_not_resend_a_pull_error_cycling_with_its_backoff(tmp_path: Path) -> None:
    """A pod alternating ErrImagePull and ImagePullBackOff is one incident; after a restart it is
    re-detected in whichever state it is in: not news, nothing sent. A second pod of the same
    workload later (the count grows) is news again."""
    pull, backoff = _api_pods()
    async with http_receiver() as rec, FakeApiServer() as api:
        config = tmp_path / "podsleuth.yaml"
        config.write_text(
            "alerts:\n  group_wait: 0s\n  receivers:\n    - name: hook\n"
            f"      webhook: {{url: \"{rec.url}/hook\"}}\n  routes:\n    - receivers: [hook]\n"
        )
        store = tmp_path / "podsleuth.db"
        kubeconfig = api.kubeconfig_path(tmp_path)
        api.put("pods", pull)

        async def flip_to_backoff() -> None:
            await _until(lambda: len(rec.json_bodies) >= 1)
            api.put("pods", backoff)

        first = await _watch_while(kubeconfig, store, config, 3, flip_to_backoff)
        assert [line["event"] for line in first][:1] == ["incident.opened"]
        (incident_id,) = {line["incident"]["id"] for line in first}
        sent_before = len(rec.json_bodies)

        async def flip_back() -> None:
            # the restarted watch has listed (and, consuming the list first, seen it) once it watches
            await _until(lambda: api.watch_count("pods") > 0)
            api.put("pods", pull)

        await _until(lambda: api.watch_count() == 0)  # the first process's watches are gone
        second = await _watch_while(kubeconfig, store, config, 3, flip_back)
        assert second == [], "the restart re-announced an incident that did not change"
        assert len(rec.json_bodies) == sent_before, rec.json_bodies[sent_before:]

        other = copy.deepcopy(backoff)
        other["metadata"]["name"], other["metadata"]["uid"] = "api-84d6b7c9f-zz9k1", "uid-api-2"
        api.put("pods", other)
        third = await _watch(kubeconfig, store, config, 10)  # start-up is slow on a loaded machine
        assert [(line["event"], line["incident"]["id"]) for line in third][:1] == [
            ("incident.updated", incident_id)
        ]
        assert third[0]["incident"]["count"] > first[-1]["incident"]["count"]
        await _until(lambda: len(rec.json_bodies) > sent_before)
        assert rec.json_bodies[sent_before]["event"] == "incident.updated"


async def _until(predicate: Any, within: float = 10.0) -> None:
    await eventually(predicate, within=within)
