"""``podsleuth ui`` speaks the machine's language by default, as every other command does: LANG
(or LC_ALL) decides when --lang is not given; --lang wins; a browser still switches per page."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import aiohttp
import pytest

from podsleuth.store import open_store
from tests.fakes.net import free_port
from tests.waiting import eventually


async def _front_page(store_url: str, env: dict[str, str], *args: str, headers: dict[str, str]) -> str:
    port = free_port()
    ui = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "podsleuth", "ui", "--store", store_url, "--listen", f"127.0.0.1:{port}", *args,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, env=env,
    )  # fmt: skip
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:

            async def page() -> str | None:
                try:
                    async with http.get(f"http://127.0.0.1:{port}/", headers=headers) as answer:
                        return await answer.text()
                except aiohttp.ClientConnectionError:
                    return None

            return await eventually(page, within=20, what="the console's front page", every=0.1)
    finally:
        ui.terminate()
        await asyncio.wait_for(ui.wait(), 10)


@pytest.mark.parametrize(
    ("lang_env", "args", "accept", "expected", "absent"),
    [
        ("zh_CN.UTF-8", (), "", "没有匹配的事件", "No incident matches"),
        ("zh_CN.UTF-8", ("--lang", "en"), "", "No incident matches", "没有匹配的事件"),
        ("C.UTF-8", (), "", "No incident matches", "没有匹配的事件"),
        ("C.UTF-8", (), "zh-CN,zh;q=0.9", "没有匹配的事件", "No incident matches"),
    ],
)
async def test_ui_default_language_follows_lang(
    tmp_path: Path, lang_env: str, args: tuple[str, ...], accept: str, expected: str, absent: str
) -> None:
    store_url = f"sqlite:///{tmp_path / 'empty.db'}"
    await (await open_store(store_url)).aclose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LC_")} | {"LANG": lang_env}
    text = await _front_page(store_url, env, *args, headers={"Accept-Language": accept} if accept else {})
    assert expected in text and absent not in text
