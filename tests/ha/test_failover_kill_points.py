"""The leader SIGKILLed at every step between detecting an incident and recording its delivery:
before the incident is stored, after it is stored but before it is batched into the outbox,
while its delivery is in flight to a slow (2 s) receiver, and after the receiver answered but
before the store recorded it. Two real ``podsleuth watch`` processes, one PostgreSQL, the fake
API server, a real webhook receiver: every broken pod reaches the receiver, under one incident
id, announced as opened once - a redelivery the crash forces is marked ``possible_duplicate``
with the same sequence number - and nothing else is sent twice (docs/ha.md).

The exact steps are hit with ``PODSLEUTH_FAILPOINT`` (podsleuth.alert.failpoints): the process
kills itself with SIGKILL there, which no outside timing could do reliably.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from podsleuth.lab.demo_cluster import demo_steps
from podsleuth.lab.fake_apiserver import FakeApiServer
from podsleuth.store import open_store
from tests.alert.helpers import http_receiver
from tests.ha.conftest import LEASES
from tests.ha.test_failover import LEASE_DURATION, RETRY_PERIOD, Watcher, broken_pod, until
from tests.store.postgres_server import PostgresServer

CONFIG = """
watch:
  thresholds: {{resolve_after: 30s}}
alerts:
  group_wait: 1s
  receivers:
    - name: hook
      webhook: {{url: "{url}", timeout: 10s}}
  routes:
    - receivers: [hook]
"""
PODS = 6

# (kill point, receiver delay, duplicates expected): "in-flight" = SIGKILL from outside as soon
# as the receiver holds a request it has not answered yet; "printed" = SIGKILL from outside once a
# printed ISSUE_PRINTED incidents as opened, deliveries still waiting for group_wait (the issue's
# run: the demo cluster's broken pods and node plus broken copies, about fifteen pods)
SCENARIOS: dict[str, tuple[str, float, bool | None]] = {
    "before-store": ("publish.before-store@3", 0.0, False),
    "stored-not-batched": ("submit.after-store@3", 0.0, False),
    "in-flight-slow-receiver": ("in-flight", 2.0, True),
    "answered-not-recorded": ("deliver.after-send@1", 0.0, True),
    "issue-16-run": ("printed", 0.0, None),
}
ISSUE_PRINTED = 14


def subjects(incident: dict[str, Any]) -> set[str]:
    """The pods an incident names (one incident covers a workload's pods), or its node."""
    pods = {str(p if isinstance(p, str) else p.get("name")) for p in incident.get("pods") or []}
    pods |= {str(incident["pod"])} if incident.get("pod") else set()
    return pods or {f"node/{incident.get('node')}"}


def cluster(scenario: str) -> list[tuple[str, dict[str, Any]]]:
    """(plural, object) to put: broken pods, and for the issue's run the demo cluster too."""
    objects = [("pods", broken_pod(n)) for n in range(PODS if scenario != "issue-16-run" else 10)]
    if scenario == "issue-16-run":
        latest = {(s.plural, s.obj["metadata"]["name"]): s for s in demo_steps(datetime.now(UTC))}
        objects = [(s.plural, s.obj) for s in latest.values()] + objects
    return objects


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_leader_killed_mid_publish_loses_nothing(
    scenario: str, tmp_path: Path, postgres_server: PostgresServer
) -> None:
    kill, delay, duplicates = SCENARIOS[scenario]
    failpoint = kill if "." in kill else None
    store_url = postgres_server.create_database()
    objects = cluster(scenario)
    names = {o["metadata"]["name"] for plural, o in objects if plural == "pods"}
    watchers: list[Watcher] = []

    def dump() -> str:
        return "\n".join(f"--- {w.identity}\n{w.log.read_text(errors='replace')[-4000:]}" for w in watchers)

    async with http_receiver(delay=delay) as rec, FakeApiServer(bookmark_interval=None) as api:
        config = tmp_path / "podsleuth.yaml"
        config.write_text(CONFIG.format(url=f"{rec.url}/hook"))
        kubeconfig = api.kubeconfig_path(tmp_path)

        def holder() -> str | None:
            entry = api.store.get(LEASES, "podsleuth", "podsleuth-watcher")
            return None if entry is None else msgspec.json.decode(entry.raw)["spec"].get("holderIdentity")

        def reached() -> set[str]:
            return {s for b in rec.json_bodies for s in subjects(b["incident"])}

        def printed_by_a() -> set[str]:
            lines = (tmp_path / "a.out").read_text().splitlines()
            changes = [json.loads(line) for line in lines if line.strip()]
            return {s for c in changes if c["event"] == "incident.opened" for s in subjects(c["incident"])}

        try:
            env = {"PODSLEUTH_FAILPOINT": failpoint} if failpoint else {}
            os.environ.update(env)  # Watcher.start passes os.environ on: only a gets the failpoint
            try:
                a = await Watcher.start("a", tmp_path=tmp_path, kubeconfig=kubeconfig, store=store_url,
                                        config=config)  # fmt: skip
            finally:
                for name in env:
                    del os.environ[name]
            watchers.append(a)
            await until(lambda: holder() == "a", within=60, what=f"a to lead\n{dump()}")
            b = await Watcher.start("b", tmp_path=tmp_path, kubeconfig=kubeconfig, store=store_url,
                                    config=config)  # fmt: skip
            watchers.append(b)
            await until(b.ready, within=60, what="b to sync")  # warm: it sees what a sees
            for plural, obj in objects:
                api.put(plural, obj)
            if kill == "in-flight":
                await until(rec.arrived.is_set, within=20, what=f"a delivery in flight\n{dump()}")
                a.proc.kill()
            elif kill == "printed":
                await until(lambda: len(printed_by_a()) >= ISSUE_PRINTED, within=20, what="a to print")
                a.proc.kill()
            assert await a.proc.wait() == -9, dump()  # SIGKILL (by the failpoint or by us)
            killed_at = time.monotonic()
            assert failpoint is None or f"failpoint {failpoint.split('@')[0]}" in a.log.read_text()
            if kill == "printed":  # the affected ones: what a announced before it died
                names = printed_by_a()
                assert len(names) >= ISSUE_PRINTED
            await until(lambda: holder() == "b", within=LEASE_DURATION + 5, what=f"b to take over\n{dump()}")
            takeover = time.monotonic() - killed_at
            await until(lambda: reached() >= names, within=20, what=f"every pod alerted\n{dump()}")
            store = await open_store(store_url)
            try:

                async def drained() -> bool:
                    return not await store.deliveries(state="pending") and not await store.queued("hook")

                await until(drained, within=20, what=f"b's outbox to drain\n{dump()}")
                caught_up = time.monotonic() - killed_at  # every change a left is delivered
            finally:
                await store.aclose()
        finally:
            for w in watchers:
                if w.proc.returncode is None:
                    w.proc.kill()
                await w.proc.wait()
    print(f"{scenario}: {len(names)} affected, takeover {takeover:.2f}s, "
          f"outbox drained {caught_up:.2f}s after the kill")  # fmt: skip

    bodies: list[dict[str, Any]] = rec.json_bodies
    ids_by_pod: dict[str, set[str]] = {}
    for body in bodies:
        for name in subjects(body["incident"]):
            ids_by_pod.setdefault(name, set()).add(body["incident"]["id"])
    assert set(ids_by_pod) >= names
    assert all(len(ids) == 1 for ids in ids_by_pod.values()), ids_by_pod  # never opened twice as new
    first: dict[str, str] = {}
    seen: set[tuple[str, int]] = set()
    marked = 0
    for body in bodies:
        iid, delivery = body["incident"]["id"], body["delivery"]
        first.setdefault(iid, body["event"])
        key = (iid, delivery["sequence"])
        if delivery["possible_duplicate"]:
            marked += 1
        else:
            assert key not in seen, f"an unmarked duplicate of {key}"
        seen.add(key)
    assert set(first.values()) == {"incident.opened"}, bodies  # announced as opened first
    unmarked_opened = Counter(
        b["incident"]["id"] for b in bodies
        if b["event"] == "incident.opened" and not b["delivery"]["possible_duplicate"]
    )  # fmt: skip
    assert set(unmarked_opened) == set(first) and set(unmarked_opened.values()) == {1}, unmarked_opened
    if duplicates:
        assert marked > 0, "the crash left deliveries in doubt: their redelivery must be marked"
    elif duplicates is False:
        assert marked == 0, bodies  # nothing had been sent before the kill: nothing is in doubt
    assert takeover < LEASE_DURATION + 2 * RETRY_PERIOD + 1.5
