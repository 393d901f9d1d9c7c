"""Silences mute matching incidents until they end; the CLI manages them in the store."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from click.testing import CliRunner

from podsleuth.alert.notifier import Notifier
from podsleuth.alert.options import AlertOptions
from podsleuth.cli.silence import group as silence_group
from podsleuth.config import AlertSettings, Receiver
from podsleuth.store.base import Silence
from podsleuth.store.sqlite import SqliteStore
from tests.alert.helpers import FakeClock, RecordingSink, change


async def test_silence_mutes_until_it_ends(store: SqliteStore, clock: FakeClock) -> None:
    settings = AlertSettings(receivers=[Receiver(name="team")])
    sink = RecordingSink()
    options = replace(AlertOptions.from_settings(settings), group_wait=0.0)
    notifier = Notifier(settings, store, clock=clock, options=options, sinks={"team": {"webhook": sink}})
    now = clock.now
    await store.add_silence(
        Silence("s1", {"namespace": "shop*", "label.team": "pay"}, now, now + 3600, "", "me", now)
    )
    await notifier.submit(change(id="a", namespace="shop-eu", labels={"team": "pay"}))
    await notifier.submit(change(id="b", namespace="shop-eu", labels={"team": "web"}))
    await notifier.pump()
    assert sink.ids == [["b"]]
    clock.advance(3601)
    await notifier.submit(change("incident.updated", id="a", namespace="shop-eu", labels={"team": "pay"}))
    await notifier.pump()
    assert sink.ids == [["b"], ["a"]]


def test_cli_add_list_expire(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    runner = CliRunner()
    added = runner.invoke(
        silence_group,
        [
            "add",
            "--match",
            "namespace=shop*",
            "--match",
            "category=crash-loop",
            "--for",
            "2h",
            "--comment",
            "deploy",
            "--store",
            url,
            "-o",
            "json",
        ],
    )
    assert added.exit_code == 0, added.output
    sid = json.loads(added.output)["id"]
    listed = runner.invoke(silence_group, ["list", "--store", url])
    assert sid in listed.output and "namespace=shop* category=crash-loop" in listed.output
    assert "deploy" in listed.output and " left)" in listed.output
    expired = runner.invoke(silence_group, ["expire", sid[:6], "--store", url])
    assert expired.exit_code == 0, expired.output
    assert runner.invoke(silence_group, ["list", "--store", url]).output.strip() == "no silences"
    assert sid in runner.invoke(silence_group, ["list", "--all", "--store", url]).output


def test_cli_bad_input(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    runner = CliRunner()
    bad = runner.invoke(silence_group, ["add", "--match", "colour=red", "--for", "1h", "--store", url])
    assert bad.exit_code != 0 and "unknown key 'colour'" in str(bad.exception)
    bad = runner.invoke(silence_group, ["add", "--match", "namespace=x", "--for", "soon", "--store", url])
    assert bad.exit_code != 0 and "--for" in str(bad.exception)
    missing = runner.invoke(silence_group, ["expire", "nope", "--store", url])
    assert missing.exit_code != 0 and "no active silence" in str(missing.exception)
