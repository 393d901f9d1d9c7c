"""Real webhook bodies validate against docs/webhook-payload.schema.json, and every field they
carry is declared there (and so described in docs/contract.md).

The bodies are captured from a real delivery: ``watch --demo`` with a webhook receiver on
127.0.0.1, so they are what the detector, diagnoser and notifier really put on the wire.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from podsleuth.alert.notifier import Notifier
from podsleuth.alert.options import AlertOptions
from podsleuth.config import AlertSettings, Receiver, WebhookReceiver
from podsleuth.store.sqlite import SqliteStore
from tests.alert.helpers import FakeClock, change, http_receiver

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs/webhook-payload.schema.json").read_text())
CONTRACT = (ROOT / "docs/contract.md").read_text()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())


def _errors(body: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(body)]


def _undeclared(body: dict[str, Any]) -> set[str]:
    """Keys of the incident, its diagnosis and evidence that the schema does not declare."""
    inc = SCHEMA["properties"]["incident"]
    diag = inc["properties"]["diagnosis"]
    out = {f"incident.{k}" for k in body["incident"] if k not in inc["properties"]}
    d = body["incident"].get("diagnosis") or {}
    out |= {f"incident.diagnosis.{k}" for k in d if k not in diag["properties"]}
    group = diag["properties"]["group"]["properties"]
    out |= {f"incident.diagnosis.group.{k}" for k in d.get("group") or {} if k not in group}
    return out


@pytest.fixture(scope="module")
def demo_bodies(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("demo")

    async def run() -> list[dict[str, Any]]:
        async with http_receiver() as rec:
            cfg = tmp / "c.yaml"
            cfg.write_text(
                "alerts:\n  group_wait: 0s\n  receivers:\n    - name: hook\n"
                f"      webhook: {{url: '{rec.url}/hook', timeout: 5s}}\n"
            )
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "podsleuth", "watch", "--demo", "--duration", "12",
                "--config", str(cfg), "--store", f"sqlite:///{tmp / 's.db'}", "-o", "json",
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            _, err = await asyncio.wait_for(proc.communicate(), timeout=90)
            assert proc.returncode == 0, err.decode()[-2000:]
            return list(rec.json_bodies)

    return asyncio.run(run())


def test_the_demo_delivers_several_kinds_of_incident(demo_bodies: list[dict[str, Any]]) -> None:
    categories = {b["incident"]["category"] for b in demo_bodies}
    assert len(demo_bodies) >= 5 and len(categories) >= 4, categories
    assert any(b["incident"]["pod"] is None for b in demo_bodies), "no node incident delivered"
    assert any((b["incident"]["diagnosis"] or {}).get("group") for b in demo_bodies)


def test_every_real_body_validates(demo_bodies: list[dict[str, Any]]) -> None:
    for body in demo_bodies:
        assert _errors(body) == [], (body["incident"]["category"], _errors(body))


def test_every_field_on_the_wire_is_declared_and_documented(demo_bodies: list[dict[str, Any]]) -> None:
    undeclared = set().union(*(_undeclared(b) for b in demo_bodies))
    assert undeclared == set(), f"declare in docs/webhook-payload.schema.json: {sorted(undeclared)}"
    seen = {k for b in demo_bodies for k in b["incident"]} | {
        k for b in demo_bodies for k in (b["incident"]["diagnosis"] or {})
    }
    missing = sorted(k for k in seen if f'"{k}"' not in CONTRACT and f"`{k}`" not in CONTRACT)
    assert missing == [], f"describe in docs/contract.md: {missing}"


def test_the_schema_rejects_what_a_receiver_could_not_use() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    good = {**change(), "delivery": {"sequence": 1, "possible_duplicate": False}}
    assert _errors(good) == []
    for broken in (
        {**good, "delivery": {"sequence": 0, "possible_duplicate": False}},
        {**good, "event": "incident.exploded"},
        {**good, "incident": {**good["incident"], "severity": "info"}},
        {**good, "incident": {**good["incident"], "first_seen": "yesterday"}},
        {k: v for k, v in good.items() if k != "delivery"},
    ):
        assert _errors(broken), broken


async def test_a_notifier_redelivery_validates(store: SqliteStore, clock: FakeClock) -> None:
    """The outbox's own additions (a retried copy marked possible_duplicate) fit the schema too."""
    async with http_receiver() as rec:
        rec.status = 503
        settings = AlertSettings(
            receivers=[Receiver(name="h", webhook=WebhookReceiver(url=rec.url, timeout=5))]
        )
        opts = replace(AlertOptions.from_settings(settings), group_wait=0.0)
        notifier = Notifier(settings, store, clock=clock, options=opts)
        await notifier.submit(change(id="x", namespace=None, pod=None, container=None))
        await notifier.pump()
        rec.status = 200
        clock.advance(3600)
        await notifier.pump()
        await notifier.aclose()
    assert len(rec.json_bodies) == 2
    assert rec.json_bodies[-1]["delivery"]["possible_duplicate"] is True
    for body in rec.json_bodies:
        assert _errors(body) == []

