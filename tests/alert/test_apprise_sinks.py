"""Chat and email through apprise, each against a real local receiver.

apprise's Slack and DingTalk plugins have their cloud endpoints built in; the tests point the
plugin's endpoint attribute at a loopback server, so the real plugin builds and sends its real
payload. The generic json:// plugin needs no patching. Email goes to a real SMTP server
(aiosmtpd) through mailto:// without TLS.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from email import message_from_bytes
from email.message import Message
from typing import Any, Literal

import pytest
from aiosmtpd.controller import Controller

from podsleuth.alert.notifier import Notifier
from podsleuth.alert.options import AlertOptions
from podsleuth.config import AlertSettings, Receiver
from podsleuth.store.sqlite import SqliteStore
from tests.alert.helpers import FakeClock, change, free_port, http_receiver


async def deliver(
    store: SqliteStore, clock: FakeClock, urls: list[str], *, locale: Literal["en", "zh"] = "en"
) -> Notifier:
    settings = AlertSettings(locale=locale, receivers=[Receiver(name="chat", apprise=urls)])
    options = replace(AlertOptions.from_settings(settings), group_wait=0.0, apprise_timeout=20.0)
    notifier = Notifier(settings, store, clock=clock, options=options)
    await notifier.submit(
        change(id="a", namespace="monitoring", pod="dashboard-6f7-x2x", container="grafana")
    )
    await notifier.submit(
        change(id="b", namespace="monitoring", pod="dashboard-6f7-y3y", container="grafana")
    )
    await notifier.pump()
    await notifier.aclose()
    return notifier


def assert_names_everything(text: str) -> None:
    for needle in (
        "monitoring",
        "Deployment/web",
        "dashboard-6f7-x2x",
        "node-3",
        "grafana",
        "container-start",
        "//deleted",
        "Drain node-3",
        "mountinfo: root ends with //deleted",
    ):
        assert needle in text, needle


async def test_generic_json(store: SqliteStore, clock: FakeClock) -> None:
    async with http_receiver() as rec:
        await deliver(store, clock, [f"json://127.0.0.1:{rec.port}/notify"])
    [(path, _, body)] = rec.requests
    assert path.startswith("/notify")
    payload = json.loads(body)
    assert "2 FIRING" in payload["title"]
    assert_names_everything(payload["message"])


async def test_slack_plugin(store: SqliteStore, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    from apprise.plugins.slack import NotifySlack

    async with http_receiver() as rec:
        monkeypatch.setattr(NotifySlack, "webhook_url", rec.url + "/services")
        await deliver(store, clock, ["slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7/#ops"])
    [(path, _, body)] = rec.requests
    assert path == "/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7"
    payload = json.loads(body)
    text = json.dumps(payload, ensure_ascii=False)
    assert payload["channel"] == "#ops"
    assert "dashboard-6f7-x2x" in text and "//deleted" in text


async def test_dingtalk_plugin_in_chinese(
    store: SqliteStore, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apprise.plugins.dingtalk import NotifyDingTalk

    async with http_receiver() as rec:
        rec.reply = {"errcode": 0, "errmsg": "ok"}
        monkeypatch.setattr(NotifyDingTalk, "notify_url", rec.url + "/robot/send?access_token={token}")
        await deliver(store, clock, ["dingtalk://a1b2c3d4e5f6a7b8c9d0/"], locale="zh")
    [(path, _, body)] = rec.requests
    assert path == "/robot/send?access_token=a1b2c3d4e5f6a7b8c9d0"
    payload = json.loads(body)
    text = payload["markdown"]["text"] if "markdown" in payload else payload["text"]["content"]
    assert "根因" in text and "处理建议" in text and "命名空间" in text
    assert "dashboard-6f7-x2x" in text


class _Handler:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
async def smtp() -> AsyncIterator[tuple[int, _Handler]]:
    handler = _Handler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    await asyncio.to_thread(controller.start)
    try:
        yield port, handler
    finally:
        await asyncio.to_thread(controller.stop)


async def test_email_plain_text(store: SqliteStore, clock: FakeClock, smtp: tuple[int, _Handler]) -> None:
    port, handler = smtp
    url = f"mailto://127.0.0.1:{port}?from=podsleuth@example.com&to=oncall@example.com&mode=insecure"
    await deliver(store, clock, [url])
    [mail] = handler.messages
    assert mail["To"] == "oncall@example.com"
    assert "2 FIRING" in str(mail["Subject"])
    part = next(p for p in mail.walk() if p.get_content_type() == "text/plain")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    text = payload.decode()
    assert_names_everything(text)
    assert "Root cause:" in text and "**" not in text  # plain text, not markdown


async def test_bad_apprise_url_is_a_config_error(store: SqliteStore, clock: FakeClock) -> None:
    from podsleuth.errors import ConfigError

    settings = AlertSettings(receivers=[Receiver(name="chat", apprise=["nosuchservice://x"])])
    with pytest.raises(ConfigError, match="apprise URL not understood"):
        Notifier(settings, store, clock=clock)
