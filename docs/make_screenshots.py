"""Re-take the console screenshots in docs/img/ from a store the real watcher writes.

    python3 docs/make_screenshots.py      # needs Debian's chromium and the playwright package

Runs ``watch --demo`` into a temporary store, serves it with ``podsleuth ui`` and photographs
the incident list and the founding incident's page (en and zh) with headless Chromium.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

from podsleuth.lab.demo import record_demo

OUT = Path(__file__).resolve().parent / "img"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "demo.db"
        founding = next(i["id"] for i in record_demo(store) if i["category"] == "container-start")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        ui = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "podsleuth",
                "ui",
                "--store",
                f"sqlite:///{store}",
                "--listen",
                f"127.0.0.1:{port}",
            ],
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(base + "/healthz", timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 760})
                page.goto(base + "/?lang=en")
                page.screenshot(path=str(OUT / "console-list.png"))
                page.set_viewport_size({"width": 1280, "height": 1200})
                page.goto(f"{base}/incidents/{founding}")
                page.screenshot(path=str(OUT / "console-founding-incident.png"), full_page=True)
                page.goto(f"{base}/incidents/{founding}?lang=zh")
                page.screenshot(path=str(OUT / "console-founding-incident-zh.png"))
                browser.close()
        finally:
            ui.terminate()
            ui.wait(timeout=10)


if __name__ == "__main__":
    main()
