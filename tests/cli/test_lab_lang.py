"""``lab seed-incident --lang``: the lab's whole text report in the chosen language (issue 18).

The founding incident is reproduced for real (root, Linux: real mounts, a FUSE daemon the kernel
OOM-kills, runc), so what is checked is what a person running the lab reads: its progress lines,
its headings, the diagnosis and the other incidents of the run. Only data stays as it is: runc's
error, the ``[watch]`` lines (kinds, categories, names), ids, paths.
"""

from __future__ import annotations

from click.testing import CliRunner

from podsleuth.cli import cli
from tests.i18n.lint_zh import english_runs, has_chinese
from tests.lab.test_seed_incident import REAL


def _report(*args: str) -> list[str]:
    result = CliRunner().invoke(cli, ["lab", "seed-incident", *args])
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def _prose(lines: list[str]) -> list[str]:
    """The lines a person reads as sentences: not runc's own error (quoted cluster data, said
    once after its heading and once as the last seeding step), not the watch's id lines."""
    out = []
    for i, line in enumerate(lines):
        data = line.startswith("[watch] ") or "runc create failed" in line
        if not data and not (i and lines[i - 1].startswith("runc ") and line.startswith("  ")):
            out.append(line)
    return out


@REAL
def test_the_chinese_lab_report_has_no_english_sentence() -> None:
    lines = _report("--lang", "zh")
    text = "\n".join(lines)
    for heading in ("本次运行的其他事件：", "根因：", "证据：", "处理建议：", "报错：", "OOM kill："):
        assert heading in text, heading
    assert "stale-fuse-bind-after-daemon-restart" in text  # the id stays an id
    progress = [line for line in lines if line.startswith("[") and "s] " in line[:10]]
    assert len(progress) >= 10 and all(has_chinese(line) for line in progress if "runc" not in line)
    others = text.split("本次运行的其他事件：", 1)[1].splitlines()
    # its summary in zh, or (the run may end before its diagnosis) that it was not diagnosed yet
    assert any("oom-killed" in line and has_chinese(line) for line in others)
    # linted as one text: a folded line may open a `command` that the next line closes
    assert english_runs("\n".join(_prose(lines))) == []


@REAL
def test_the_english_lab_report_has_no_chinese() -> None:
    lines = _report("--lang", "en")
    assert "other incidents of this run:" in lines
    assert [line for line in lines if has_chinese(line)] == []
