"""The console's HTTP surface without a browser: headers, CSRF, read-only mode, 404, the live stream."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from podsleuth.console.app import CSRF_COOKIE, ConsoleSettings, create_app
from podsleuth.store import Store, open_store
from tests.console.conftest import TOKEN


@pytest.fixture
async def store(demo_store: Path, tmp_path: Path) -> AsyncIterator[Store]:
    copy = tmp_path / "copy.db"
    shutil.copy(demo_store, copy)
    opened = await open_store(f"sqlite:///{copy}")
    try:
        yield opened
    finally:
        await opened.aclose()


async def client_for(store: Store, token: str | None) -> TestClient:
    app = create_app(ConsoleSettings(store=store, write_token=token, poll_interval=0.05))
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def test_pages_forbid_inline_script_and_framing(store: Store) -> None:
    client = await client_for(store, None)
    try:
        response = await client.get("/")
        assert response.status == 200
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "<script>" not in await response.text()
        assert (await client.get("/incidents/does-not-exist")).status == 404
    finally:
        await client.close()


async def test_a_zh_page_refuses_a_silence_in_chinese(store: Store) -> None:
    """The form's refusals speak the page's language (here the lang cookie a zh page sets); the
    JSON API keeps English for scripts. User input in the message stays as typed."""
    from urllib.parse import unquote

    from podsleuth.console.app import LANG_COOKIE

    client = await client_for(store, TOKEN)
    try:
        page = await client.get("/silences?lang=zh")
        csrf = page.cookies[CSRF_COOKIE].value
        client.session.cookie_jar.update_cookies({LANG_COOKIE: "zh"})
        form = {"csrf": csrf, "token": TOKEN, "matchers": "namespace=shop", "duration": "soon"}
        bad = await client.post("/silences", data=form, allow_redirects=False)
        assert bad.status == 303
        shown = unquote(bad.headers["Location"])
        assert "不是有效的时长：'soon'" in shown and "not a duration" not in shown
        redirected = await client.get(bad.headers["Location"])
        assert "不是有效的时长" in await redirected.text()
        forged = await client.post("/silences", data=dict(form, csrf="forged"), allow_redirects=False)
        assert forged.status == 403 and "CSRF 校验失败" in await forged.text()
        twice = await client.post(
            "/silences", data=dict(form, matchers="pod=a\npod=b", duration="1h"), allow_redirects=False
        )
        assert "'pod' 出现了两次" in unquote(twice.headers["Location"])
        api = await client.post(
            "/api/silences",
            json={"matchers": {"namespace": "a"}, "duration": "soon"},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert api.status == 400 and (await api.json())["error"].startswith("not a duration: 'soon'")
        assert await store.silences(now=0.0) == []
    finally:
        await client.close()


async def test_a_token_file_that_appears_later_turns_writes_on_without_a_restart(
    store: Store, tmp_path: Path
) -> None:
    """The rendered watcher mounts an optional Secret: the file is missing at start, appears
    when someone creates the Secret, changes when it is rotated, and may vanish again."""
    from podsleuth.console.write_token import TokenFile

    now = [0.0]
    path = tmp_path / "ui" / "token"
    path.parent.mkdir()
    source = TokenFile(path=path, reread_every=10.0, clock=lambda: now[0])
    app = create_app(ConsoleSettings(store=store, write_token=source))
    client = TestClient(TestServer(app))
    await client.start_server()
    body = {"matchers": {"namespace": "a"}, "duration": "1h"}

    async def post(token: str) -> tuple[int, str]:
        answer = await client.post("/api/silences", json=body, headers={"Authorization": f"Bearer {token}"})
        return answer.status, (await answer.json()).get("error", "")

    try:
        status, error = await post(TOKEN)
        assert status == 403 and f"no write token in {path} yet" in error
        page = await (await client.get("/silences")).text()
        assert "no write token in" in page and str(path) in page
        path.write_text(TOKEN + "\n")
        assert (await post(TOKEN))[0] == 403, "looked at again only after reread_every"
        now[0] += 10
        assert (await post(TOKEN))[0] == 201
        rotated = "rotated-token-" + "r" * 20
        path.write_text(rotated)
        now[0] += 10
        assert (await post(TOKEN))[0] == 401 and (await post(rotated))[0] == 201
        path.write_text("short")  # a half-written or bad Secret is no token
        now[0] += 10
        assert (await post("short"))[0] == 403
        path.unlink()
        now[0] += 10
        assert (await post(rotated))[0] == 403
        assert len(await store.silences(now=0.0)) == 2
    finally:
        await client.close()


async def test_read_only_without_a_token_file(store: Store) -> None:
    client = await client_for(store, None)
    try:
        page = await client.get("/silences")
        csrf = page.cookies[CSRF_COOKIE].value
        answer = await client.post(
            "/silences",
            data={"csrf": csrf, "token": TOKEN, "matchers": "namespace=a", "duration": "1h"},
            allow_redirects=False,
        )
        assert answer.status == 403 and "read-only" in await answer.text()
        assert await store.silences(now=0.0) == []
    finally:
        await client.close()


async def test_writes_need_the_csrf_cookie_echoed_and_the_token(store: Store) -> None:
    client = await client_for(store, TOKEN)
    try:
        page = await client.get("/silences")
        csrf = page.cookies[CSRF_COOKIE].value
        form = {"matchers": "namespace=shop*", "duration": "2h", "comment": "x"}
        forged = await client.post(
            "/silences", data=dict(form, csrf="forged", token=TOKEN), allow_redirects=False
        )
        assert forged.status == 403 and "CSRF" in await forged.text()
        wrong = await client.post(
            "/silences", data=dict(form, csrf=csrf, token="nope"), allow_redirects=False
        )
        assert wrong.status == 403
        too_long = await client.post(
            "/silences", data=dict(form, csrf=csrf, token=TOKEN, duration="400d"), allow_redirects=False
        )
        assert too_long.status == 303 and "error=" in too_long.headers["Location"]
        ok = await client.post("/silences", data=dict(form, csrf=csrf, token=TOKEN), allow_redirects=False)
        assert ok.status == 303
        [silence] = await store.silences(now=0.0, include_expired=True)
        assert silence.matchers == {"namespace": "shop*"} and silence.ends_at - silence.starts_at == 7200
    finally:
        await client.close()


async def test_live_stream_pushes_a_change_written_after_it_opened(store: Store) -> None:
    client = await client_for(store, None)
    try:
        response = await client.get("/api/changes")
        assert response.headers["Content-Type"].startswith("text/event-stream")
        await response.content.readuntil(b"\n\n")
        [record, *_] = await store.open_incidents()
        await store.record_change(
            {"event": "incident.updated", "incident": dict(record.data, count=99)}, at=9e9
        )
        frame = await asyncio.wait_for(response.content.readuntil(b"\n\n"), timeout=5)
        lines = dict(line.split(": ", 1) for line in frame.decode().strip().splitlines())
        assert lines["event"] == "incident"
        assert json.loads(lines["data"]) | {"count": 99} == json.loads(lines["data"])
        assert json.loads(lines["data"])["id"] == record.id
        response.close()
    finally:
        await client.close()


async def test_json_api_lists_incidents_and_takes_silences_with_a_bearer_token(store: Store) -> None:
    client = await client_for(store, TOKEN)
    try:
        listing = await (await client.get("/api/incidents?state=all&category=oom-killed")).json()
        assert listing["total"] >= 1 and {i["category"] for i in listing["incidents"]} == {"oom-killed"}
        matchers = {"namespace": "shop", "category": "oom-killed"}
        body = {"matchers": matchers, "duration": "30m", "comment": "laptop"}
        assert (await client.post("/api/silences", json=body)).status == 401
        bad = await client.post("/api/silences", json=dict(body, duration="9999d"),
                                headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
        assert bad.status == 400 and "366 days" in (await bad.json())["error"]
        unknown = await client.post("/api/silences", json=dict(body, matchers={"nope": "x"}),
                                    headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
        assert unknown.status == 400
        made = await client.post("/api/silences", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
        assert made.status == 201
        [silence] = await store.silences(now=0.0, include_expired=True)
        assert silence.matchers == body["matchers"] and silence.comment == "laptop"
    finally:
        await client.close()
