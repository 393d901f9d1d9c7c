"""``podsleuth watch`` restarted on the same store: no duplicate alert, nothing lost, and
incidents that healed while it was down are resolved. A real webhook receiver listens."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from podsleuth.lab.demo_cluster import demo_steps
from podsleuth.lab.fake_apiserver import FakeApiServer
from tests.alert.helpers import http_receiver


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
        assert first[0]["event"] == "incident.opened"
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
        await asyncio.sleep(0.5)
        assert [r["event"] for r in received][-1] == "incident.resolved"
