"""Secrets in receiver URLs and headers never reach a log line or ``config show``."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from podsleuth.alert.notifier import Notifier
from podsleuth.alert.options import AlertOptions
from podsleuth.cli.config_cmd import group as config_group
from podsleuth.config import AlertSettings, Receiver, WebhookReceiver
from podsleuth.redact import redact, redact_headers
from podsleuth.store.sqlite import SqliteStore
from tests.alert.helpers import FakeClock, change, free_port, http_receiver

TOKEN = "a1b2c3d4e5f6a7b8c9d0e1f2"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            f"https://oapi.dingtalk.com/robot/send?access_token={TOKEN}",
            "https://oapi.dingtalk.com/robot/send?access_token=***",
        ),
        (
            f"https://hooks.slack.com/services/T1JJ3T3L2/B1BRTD4JD/{TOKEN}",
            "https://hooks.slack.com/services/***/***/***",
        ),
        (f"https://bot:{TOKEN}@hooks.example.com/x", "https://***@hooks.example.com/x"),
        (f"dingtalk://sec{TOKEN}@{TOKEN}/", "dingtalk://***@***/"),
        (f"slack://T1JJ3T3L2/B1BRTD4JD/{TOKEN}/#ops", "slack://***/***/***/#ops"),
        (f"tgram://123456789:{TOKEN}/12345", "tgram://***/12345"),
        (f"mailto://user:{TOKEN}@smtp.example.com", "mailto://***@smtp.example.com"),
        ("http://alertmanager:9093", "http://alertmanager:9093"),
    ],
)
def test_redact(url: str, shown: str) -> None:
    assert redact(url) == shown
    assert TOKEN not in redact(url)


def test_redact_headers() -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Api-Key": TOKEN, "X-Team": "shop"}
    # every header but a harmless allow-list is masked (issue 11: X-Custom was shown in clear)
    assert redact_headers(headers) == {"Authorization": "***", "X-Api-Key": "***", "X-Team": "***"}


async def test_failing_sinks_log_no_secret(
    store: SqliteStore, clock: FakeClock, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apprise.plugins.dingtalk import NotifyDingTalk

    caplog.set_level(logging.DEBUG)
    dead_port = free_port()
    async with http_receiver() as rec:
        rec.status = 500
        monkeypatch.setattr(NotifyDingTalk, "notify_url", rec.url + "/robot/send?access_token={token}")
        settings = AlertSettings(
            receivers=[
                Receiver(
                    name="r",
                    webhook=WebhookReceiver(
                        url=f"{rec.url}/hook?token={TOKEN}", headers={"Authorization": f"Bearer {TOKEN}"}
                    ),
                    apprise=[f"dingtalk://{TOKEN}/", f"json://user:{TOKEN}@127.0.0.1:{dead_port}/x"],
                )
            ]
        )
        options = replace(AlertOptions.from_settings(settings), group_wait=0.0, apprise_timeout=10.0)
        notifier = Notifier(settings, store, clock=clock, options=options)
        await notifier.submit(change())
        await notifier.pump()
        await notifier.aclose()
    assert len(rec.requests) == 2  # the webhook and the DingTalk plugin both tried
    assert "failed (attempt 1/" in caplog.text
    assert TOKEN not in caplog.text
    assert all(TOKEN not in d.last_error for d in await store.deliveries())


def test_config_show_masks_secrets(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        f"""
alerts:
  receivers:
    - name: hook
      webhook:
        url: "https://hooks.example.com/x?token={TOKEN}"
        headers: {{Authorization: "Bearer {TOKEN}"}}
    - name: chat
      apprise: ["dingtalk://{TOKEN}/"]
store: "postgresql://podsleuth:{TOKEN}@db/podsleuth"
"""
    )
    result = CliRunner().invoke(config_group, ["show", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert TOKEN not in result.output
    assert "https://hooks.example.com/x?token=***" in result.output
    assert "dingtalk://***/" in result.output
    assert "group_wait: 10.0" in result.output


class ExplodingSink:
    """A sink with a bug: raises an unexpected exception whose message (and cause) echo URLs and
    a known secret, as library exceptions do."""

    def __init__(self, *, target: str, secrets: tuple[str, ...] = ()) -> None:
        self.target = target
        self.description = f"exploding {target}"
        self.secrets = secrets

    async def send(self, batch: object) -> None:
        try:
            raise ConnectionError(f"cannot reach https://hooks.example.com/services/x?token={TOKEN}")
        except ConnectionError as e:
            raise RuntimeError(
                f"send failed for dingtalk://{TOKEN}/ and https://bot:{TOKEN}@example.com/x"
                f" with header Bearer {OTHER}"
            ) from e

    async def aclose(self) -> None:
        return None


OTHER = "z9y8x7w6v5u4t3s2r1q0p9o8"


async def test_an_unexpected_sink_error_logs_no_secret(
    store: SqliteStore, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = AlertSettings(receivers=[Receiver(name="r", webhook=WebhookReceiver(url="http://127.0.0.1:9/"))])
    options = replace(AlertOptions.from_settings(settings), group_wait=0.0)
    sinks = {"r": {"webhook": ExplodingSink(target="webhook", secrets=(OTHER,))}}
    notifier = Notifier(settings, store, clock=clock, options=options, sinks=sinks)  # type: ignore[arg-type]
    await notifier.submit(change())
    await notifier.pump()
    await notifier.aclose()
    assert "unexpected error delivering to r/exploding webhook: RuntimeError" in caplog.text
    assert "ConnectionError" in caplog.text  # the cause is named, scrubbed too
    assert "https://hooks.example.com/services/x?token=***" in caplog.text
    assert TOKEN not in caplog.text
    assert OTHER not in caplog.text
    [pending] = await store.deliveries(state="pending")
    assert pending.last_error == "RuntimeError"
