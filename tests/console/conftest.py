"""Console fixtures: a store written by the real watcher, a real `podsleuth ui` process, and
Debian's Chromium driven by Playwright.

The store is filled once per session by ``podsleuth watch --demo`` (the embedded API server
replaying the founding incident and friends), then one hostile incident is written through the
store's own API: a workload whose termination message, events and logs carry markup.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podsleuth.lab.demo import record_demo
from podsleuth.store import open_store
from tests.fakes.net import free_port
from tests.waiting import eventually_sync

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
TOKEN = "console-test-token-0123456789abcdef"


def write_change(store_path: Path, change: dict[str, Any]) -> None:
    async def run() -> None:
        store = await open_store(f"sqlite:///{store_path}")
        try:
            await store.record_change(change, at=time.time())
        finally:
            await store.aclose()

    # In a thread of its own: Playwright's sync API keeps an event loop in the test's thread.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result(timeout=30)


def hostile_change(template: dict[str, Any]) -> dict[str, Any]:
    incident = copy.deepcopy(template)
    incident.update(
        id="b00b5a1e0001",
        fingerprint="hostile-fingerprint",
        namespace="evil",
        pod="pwn-6d5f7c9b8-zz9zz",
        message=f"terminated with message {HOSTILE}",
        events=[{"type": "Warning", "reason": "BackOff", "count": 2, "message": HOSTILE}],
        logs=[f"log line {HOSTILE}", "second line"],
    )
    diagnosis = incident.get("diagnosis") or {}
    diagnosis["summary"] = f"summary {HOSTILE}"
    diagnosis["remediation"] = [f"run `kubectl logs -n evil {HOSTILE}`"]
    zh = dict((diagnosis.get("translations") or {}).get("zh") or {})
    zh.update(summary=f"概述 {HOSTILE}", remediation=[f"执行 `kubectl logs -n evil {HOSTILE}`"])
    diagnosis["translations"] = dict(diagnosis.get("translations") or {}, zh=zh)
    incident["diagnosis"] = diagnosis
    return {"event": "incident.opened", "incident": incident}


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store written by the real pipeline (`watch --demo`), plus one hostile incident."""
    root = tmp_path_factory.mktemp("console-store")
    path = root / "demo.db"
    incidents = record_demo(path, data_dir=root / "xdg")
    oom = next(i for i in incidents if i["category"] == "oom-killed")
    write_change(path, hostile_change(oom))
    return path


class Console:
    def __init__(self, url: str, store: Path, process: subprocess.Popen[str]) -> None:
        self.url = url
        self.store = store
        self.process = process


@pytest.fixture(scope="session")
def console(demo_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """`podsleuth ui` over the demo store, with a write token."""
    token_file = tmp_path_factory.mktemp("console-token") / "token"
    token_file.write_text(TOKEN + "\n")
    port = free_port()
    log = (token_file.parent / "console.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "podsleuth",
            "ui",
            "--store",
            f"sqlite:///{demo_store}",
            "--listen",
            f"127.0.0.1:{port}",
            "--token-file",
            str(token_file),
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        def healthy() -> bool:
            if process.poll() is not None:
                raise AssertionError("the console exited")
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2):
                    return True
            except OSError:
                return False

        try:
            eventually_sync(healthy, within=20, every=0.1)
        except AssertionError:
            log.flush()  # the log says why, not the OSError
            why = (token_file.parent / "console.log").read_text()
            raise AssertionError("console did not start: " + why) from None
        yield Console(url, demo_store, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Module-scoped: Playwright's sync API keeps an event loop running in this thread, which
    async tests (pytest-asyncio) of later modules must not find."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1300, "height": 1000}, locale="en-US")
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.on("dialog", lambda d: (errors.append("dialog: " + d.message), d.dismiss()))
    tab.errors = errors
    try:
        yield tab
    finally:
        context.close()
