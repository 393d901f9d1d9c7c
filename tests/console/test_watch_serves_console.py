"""`watch --ui-port` serves the console from the running watcher, over the store it writes."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.fakes.net import free_port


def test_the_running_watcher_serves_its_incidents(tmp_path: Path) -> None:
    port = free_port()
    watch = subprocess.Popen(
        [sys.executable, "-m", "podsleuth", "watch", "--demo", "--duration", "20", "--output", "json",
         "--store", f"sqlite:///{tmp_path / 'w.db'}", "--ui-port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        page = ""
        while time.monotonic() < deadline and "stale-fuse-bind-after-daemon-restart" not in page:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/?state=all", timeout=2) as answer:
                    page = answer.read().decode()
            except OSError:
                pass
            time.sleep(0.3)
        assert "stale-fuse-bind-after-daemon-restart" in page, "the founding incident shows while watching"
        assert "/incidents/" in page
    finally:
        watch.terminate()
        watch.wait(timeout=20)
