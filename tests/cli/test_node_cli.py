"""``podsleuth node check`` / ``node serve`` options, exit codes and output shapes (CONTRACT.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from podsleuth.cli import cli

FIXTURES = Path(__file__).resolve().parents[1] / "node" / "fixtures"
KEYS = {"kind", "severity", "path", "pod_uid", "volume", "process", "detail", "data", "translations"}


def _check(*args: str, input: str | None = None) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, ["node", "check", "--mount-pid", "self", *args], input=input)
    return r.exit_code, r.stdout, r.stderr


def test_missing_kernel_log_file_is_exit_2_one_line(tmp_path: Path) -> None:
    code, out, err = _check("--kubelet-dir", str(tmp_path), "--kernel-log", str(tmp_path / "nope.log"))
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0 and "nope.log" in err and "Traceback" not in err


def test_missing_kubelet_dir_is_not_an_error(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    code, out, _ = _check("--kubelet-dir", str(tmp_path / "absent"), "--kernel-log", "/dev/null",
                            "-o", "json", "--fail-on", "error")
    assert code == 0
    (f,) = [json.loads(line) for line in out.splitlines()]
    assert f["kind"] == "kubelet-dir-missing" and set(f) == KEYS
    assert "does not exist" in caplog.text


def test_json_lines_and_fail_on_with_kernel_log(tmp_path: Path) -> None:
    log = str(FIXTURES / "oom-memcg-v1-csi-plugin.txt")
    code, out, _ = _check("--kubelet-dir", str(tmp_path), "--kernel-log", log, "-o", "json")
    assert code == 0
    found = [json.loads(line) for line in out.splitlines()]
    assert all(set(f) == KEYS for f in found)
    oom = next(f for f in found if f["kind"] == "oom-kill")
    assert oom["pod_uid"] == "9d8c7b6a-5f4e-3d2c-1b0a-9f8e7d6c5b4a" and oom["process"]["comm"] == "ceph-fuse"
    code, _, _ = _check("--kubelet-dir", str(tmp_path), "--kernel-log", log, "--fail-on", "error")
    assert code == 1
    code, _, _ = _check("--kubelet-dir", str(tmp_path), "--kernel-log", str(FIXTURES / "kernel-misc.txt"),
                        "--fail-on", "warning")
    assert code == 1


def test_kernel_log_from_stdin_and_text_report(tmp_path: Path) -> None:
    text = (FIXTURES / "oom-legacy-rhel7.txt").read_text()
    code, out, _ = _check("--kubelet-dir", str(tmp_path), "--kernel-log", "-", input=text)
    assert code == 0
    assert "oom-kill" in out and "tidb-server" in out and out.startswith("node check:")


def test_text_report_in_chinese(tmp_path: Path) -> None:
    """--lang zh: headings and every finding's detail in Chinese (kinds, paths, pids stay); the
    JSON carries the Chinese detail under translations and keeps the English one."""
    from tests.i18n.lint_zh import english_runs, has_chinese

    kmsg = (FIXTURES / "oom-memcg-v1-csi-plugin.txt").read_text() + (FIXTURES / "kernel-misc.txt").read_text()
    args = ("--kubelet-dir", str(tmp_path / "absent"), "--kernel-log", "-")
    code, out, _ = _check(*args, "--lang", "zh", input=kmsg)
    assert code == 0 and out.startswith("节点检查：")
    details = out.splitlines()[2::2]
    assert "oom-kill" in out and "ceph-fuse" in out and "本节点上不存在 kubelet 目录" in out
    code, js, _ = _check(*args, "-o", "json", input=kmsg)
    found = [json.loads(line) for line in js.splitlines()]
    assert len(found) >= 3
    for f in found:
        zh = f["translations"]["zh"]
        assert has_chinese(zh) and not has_chinese(f["detail"]), f
        assert english_runs(zh) == [], zh
    _, en, _ = _check(*args, "--lang", "en", input=kmsg)
    assert not has_chinese(en) and details


def test_bad_since_and_timeout_are_usage_errors(tmp_path: Path) -> None:
    assert _check("--kubelet-dir", str(tmp_path), "--since", "soon")[0] == 2
    assert _check("--kubelet-dir", str(tmp_path), "--probe-timeout", "0")[0] == 2


def test_serve_requires_a_token_file_or_explicit_insecure(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["node", "serve", "--kubelet-dir", str(tmp_path)])
    assert r.exit_code == 2 and "--token-file" in r.stderr
    r = CliRunner().invoke(cli, ["node", "serve", "--token-file", str(tmp_path / "missing")])
    assert r.exit_code == 2
    r = CliRunner().invoke(cli, ["node", "serve", "--insecure-no-auth", "--listen", "nonsense"])
    assert r.exit_code == 2
