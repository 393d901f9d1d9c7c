"""The live text view: one block per new incident, one line per noticeable change, widths that
follow the terminal, the errno kept, no colour off a terminal, a start line and a closing table."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from podsleuth.cli.render import shorten_middle


def test_shorten_middle_keeps_both_ends() -> None:
    tail = "/mount (via /proc/self/fd/6): no such file or directory"
    message = "mount /var/lib/kubelet/pods/" + "x" * 200 + tail
    short = shorten_middle(message, 80)
    assert len(short) == 80 and short.startswith("mount /var/lib/kubelet/pods/")
    assert short.endswith("no such file or directory") and "…" in short
    assert shorten_middle("short  text", 80) == "short text"


def test_demo_run_reads_at_a_glance(tmp_path: Path) -> None:
    env = dict(os.environ, COLUMNS="80", NO_COLOR="1", XDG_DATA_HOME=str(tmp_path))
    run = subprocess.run(
        [sys.executable, "-m", "podsleuth", "watch", "--demo", "--duration", "10",
         "--store", f"sqlite:///{tmp_path / 's.db'}"],
        capture_output=True, text=True, timeout=90, env=env,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    assert "\x1b[" not in run.stdout, "no colour off a terminal (and never with NO_COLOR)"
    blocks = [line for line in lines if re.match(r"^\d\d:\d\d:\d\d  ● ", line)]
    table_at = next(n for n, line in enumerate(lines) if re.match(r"^\d+ open incident\(s\):$", line))
    open_rows = lines[table_at + 1 :]
    assert len(blocks) == len(open_rows) == 5, "one block per incident, each open at the end"
    updates = [line for line in lines if re.match(r"^\d\d:\d\d:\d\d  ~ ", line)]
    assert updates and all(len(line) <= 80 for line in updates)
    assert any("3 pods" in line and "x3" in line for line in updates), "the cart OOM grows as one line each"
    founding = next(n for n, line in enumerate(lines) if "dashboard" in line and "●" in line)
    assert lines[founding + 1].rstrip().endswith("no such file or directory: unknown"), "the errno is kept"
    assert len(lines) < 45, f"{len(lines)} lines for 5 incidents"
    assert re.search(r"synced \d+ pods?, \d+ nodes?, \d+ events? in \d+\.\d s; watching", run.stderr)
