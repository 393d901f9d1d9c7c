"""`watch --ui-port` serves the console from the running watcher, over the store it writes."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.fakes.net import free_port
from tests.waiting import eventually_sync


def test_the_running_watcher_serves_its_incidents(tmp_path: Path) -> None:
    port = free_port()
    watch = subprocess.Popen(
        [sys.executable, "-m", "podsleuth", "watch", "--demo", "--duration", "20", "--output", "json",
         "--store", f"sqlite:///{tmp_path / 'w.db'}", "--ui-port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        def page() -> str:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/?state=all", timeout=2) as answer:
                    text = str(answer.read().decode())
            except OSError:
                return ""
            return text if "stale-fuse-bind-after-daemon-restart" in text else ""

        shown = eventually_sync(page, within=30, what="the founding incident to show", every=0.2)
        assert "/incidents/" in shown
    finally:
        watch.terminate()
        watch.wait(timeout=20)
