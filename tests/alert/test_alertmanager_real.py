"""Against a real Alertmanager (Debian's prometheus-alertmanager) on loopback: incidents show
up in GET /api/v2/alerts with our labels, and a resolution ends them."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from podsleuth.alert.notifier import Notifier
from podsleuth.alert.options import AlertOptions
from podsleuth.config import AlertmanagerReceiver, AlertSettings, Receiver
from podsleuth.store.sqlite import SqliteStore
from tests.alert.helpers import FakeClock, change, free_port
from tests.waiting import eventually

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
pytestmark = pytest.mark.skipif(
    BINARY is None, reason="Alertmanager binary missing: apt-get install prometheus-alertmanager"
)

CONFIG = """
route:
  receiver: blackhole
  group_wait: 1s
receivers:
  - name: blackhole
"""


@pytest.fixture
async def alertmanager(tmp_path: Path) -> AsyncIterator[str]:
    assert BINARY is not None
    (tmp_path / "am.yml").write_text(CONFIG)
    port, cluster = free_port(), free_port()
    proc = subprocess.Popen(  # noqa: ASYNC220 - started once, not awaited on
        [
            BINARY,
            f"--config.file={tmp_path / 'am.yml'}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--cluster.listen-address=127.0.0.1:{cluster}",
            "--cluster.advertise-address=127.0.0.1:" + str(cluster),
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:

            async def ready() -> bool:
                if proc.poll() is not None:
                    pytest.fail(f"alertmanager exited: {proc.stderr.read().decode() if proc.stderr else ''}")
                try:
                    async with session.get(url + "/-/ready") as resp:
                        return resp.status == 200
                except aiohttp.ClientError:
                    return False

            await eventually(ready, within=10, what="alertmanager to become ready", every=0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stderr:
            proc.stderr.close()


async def alerts(url: str) -> list[dict[str, Any]]:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
        session.get(url + "/api/v2/alerts") as resp,
    ):
        assert resp.status == 200
        result: list[dict[str, Any]] = await resp.json()
        return result


async def test_alert_appears_and_resolves(alertmanager: str, store: SqliteStore) -> None:
    clock = FakeClock(time.time())
    settings = AlertSettings(
        receivers=[Receiver(name="am", alertmanager=AlertmanagerReceiver(url=alertmanager, timeout=5))]
    )
    options = replace(AlertOptions.from_settings(settings), group_wait=0.0)
    notifier = Notifier(settings, store, clock=clock, options=options)
    try:
        await check(notifier, store, alertmanager)
    finally:
        await notifier.aclose()


async def check(notifier: Notifier, store: SqliteStore, alertmanager: str) -> None:
    await notifier.submit(change(id="a", namespace="monitoring", pod="dashboard-1", container="grafana"))
    await notifier.pump()
    [alert] = await alerts(alertmanager)
    labels = alert["labels"]
    assert labels["alertname"] == "PodsleuthIncident"
    assert labels["namespace"] == "monitoring" and labels["pod"] == "dashboard-1"
    assert labels["container"] == "grafana" and labels["node"] == "node-3"
    assert labels["category"] == "container-start" and labels["severity"] == "error"
    assert labels["fingerprint"] == "fp-a"
    assert "//deleted" in alert["annotations"]["root_cause"]
    assert "Drain node-3" in alert["annotations"]["remediation"]
    assert alert["startsAt"].startswith("2026-01-15T10:00:00")
    assert alert["status"]["state"] == "active"

    # The incident resolves under another pod name: the alert under the old labels ends too.
    await notifier.submit(
        change("incident.resolved", id="a", namespace="monitoring", pod="dashboard-2", container="grafana")
    )
    await notifier.pump()
    remaining = await alerts(alertmanager)
    assert remaining == [] or all(a["status"]["state"] != "active" for a in remaining)
    assert [d.state for d in await store.deliveries()] == ["sent", "sent"]
