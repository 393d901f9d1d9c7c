"""The live text view: one block per new incident, one line per noticeable change, widths that
follow the terminal, the errno kept, no colour off a terminal, a start line and a closing table."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from podsleuth.textwidth import clip, display_width, pad, shorten_middle
from tests.i18n.lint_zh import has_chinese


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


def test_widths_count_columns_a_chinese_character_takes_two() -> None:
    assert display_width("根因 → oom") == 2 * 2 + 1 + 1 + 1 + 3
    assert display_width(pad("节点", 6)) == 6 and pad("node", 6) == "node  "
    cut = clip("容器因超出内存限制被杀", 9)
    assert display_width(cut) <= 9 and cut.endswith("…")
    short = shorten_middle("挂载 /var/lib/kubelet/pods/" + "很长" * 40 + "：no such file or directory", 60)
    assert display_width(short) <= 60
    assert short.startswith("挂载 /var/lib") and short.endswith("no such file or directory")


def _run_demo(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COLUMNS="100", NO_COLOR="1", XDG_DATA_HOME=str(tmp_path), **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "podsleuth", "watch", "--demo", "--duration", "10",
         "--store", f"sqlite:///{tmp_path / 's.db'}", *args],
        capture_output=True, text=True, timeout=90, env=env,
    )  # fmt: skip


def test_the_live_view_in_chinese_stays_within_the_terminal_and_aligned(tmp_path: Path) -> None:
    """LANG=zh_CN.UTF-8 (no --lang): the view's words and the diagnoses are Chinese, every line
    fits 100 columns counted as a terminal counts them, and the open table's columns line up."""
    run = _run_demo(tmp_path, env={"LANG": "zh_CN.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""})
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert all(display_width(line) <= 100 for line in lines), max(lines, key=display_width)
    assert any("根因 → " in line for line in lines)
    assert any(line.lstrip().startswith("处理：") for line in lines)
    assert any("3 个 Pod" in line and "x3" in line for line in lines)
    table_at = next(n for n, line in enumerate(lines) if re.match(r"^\d+ 个未恢复的事件：$", line))
    rows = lines[table_at + 1 :]
    assert len(rows) == 5
    counts = {display_width(row[: row.index(" x")]) for row in rows}
    assert len(counts) == 1, f"the count column starts at one column in every row: {rows}"
    assert re.search(r"已同步 \d+ 个 Pod、\d+ 个节点、\d+ 个事件，用时 \d+\.\d 秒", run.stderr)


def test_the_english_view_has_no_chinese(tmp_path: Path) -> None:
    run = _run_demo(tmp_path, "--lang", "en", env={"LANG": "zh_CN.UTF-8"})
    assert run.returncode == 0, run.stderr
    assert not has_chinese(run.stdout) and not has_chinese(run.stderr)
