"""``podsleuth diagnose messages`` / ``diagnose message`` end to end, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CSI_ENOENT = (
    "Error: failed to create containerd task: failed to create shim task: OCI runtime create failed: runc "
    "create "
    "failed: unable to start container process: error during container init: error mounting "
    '"/data/kubernetes/kubelet/pods/3f9a0c1e-77d2-4a8b-9c3d-2e1f0a9b8c7d/volumes/kubernetes.io~csi/pvc-7/moun'
    't" '
    'to rootfs at "/var/lib/grafana": mount '
    "/data/kubernetes/kubelet/pods/3f9a0c1e-77d2-4a8b-9c3d-2e1f0a9b8c7d/"
    "volumes/kubernetes.io~csi/pvc-7/mount:/var/lib/grafana (via /proc/self/fd/6), flags: 0x5000: no such "
    "file "
    "or directory: unknown"
)
CONTRACT_KEYS = {"message", "category", "signature", "candidates", "root_cause", "next_checks"}


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "podsleuth", "diagnose", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def jsonl(*objs: object) -> str:
    return "".join((o if isinstance(o, str) else json.dumps(o)) + "\n" for o in objs)


def test_messages_file_order_and_bad_lines(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(
        jsonl(
            {"message": CSI_ENOENT, "reason": "RunContainerError"},
            "{not json",
            {"message": "0/3 nodes are available: 3 Insufficient memory."},
            {"reason": "FailedMount"},
            {"message": 42},
            "",
            {"message": "nothing we know about"},
        ),
        encoding="utf-8",
    )
    p = run("messages", "--input", str(src))
    assert p.returncode == 0, p.stderr
    out = [json.loads(line) for line in p.stdout.splitlines()]
    assert len(out) == 7  # line N of the output answers line N of the input
    first, bad_json, sched, no_msg, not_str, blank, unknown = out
    assert blank == {"line": 6, "error": "empty line"}

    assert first.keys() >= CONTRACT_KEYS
    assert first["message"] == CSI_ENOENT and first["reason"] == "RunContainerError"
    assert first["signature"] == "runc-procfd-enoent-stale-fuse-csi-bind"
    assert first["category"] == "container-start"
    assert first["candidates"][0] == {"signature": first["signature"], "score": first["score"]}
    assert all(0.0 <= c["score"] <= 1.0 for c in first["candidates"])
    assert first["facts"]["kubelet_root"] == "/data/kubernetes/kubelet"
    assert first["next_checks"] and first["remediation"]

    assert bad_json["line"] == 2 and "invalid JSON" in bad_json["error"]
    assert sched["signature"] == "scheduling-insufficient-resources"
    assert sched["facts"]["scheduler_reasons"] == {"Insufficient memory": 3}
    assert no_msg == {"line": 4, "error": '"message" is missing or not a string'}
    assert not_str["line"] == 5
    assert unknown["signature"] is None and unknown["category"] == "unknown" and unknown["candidates"] == []
    assert unknown.keys() >= CONTRACT_KEYS


def test_messages_from_stdin() -> None:
    p = run("messages", "--input", "-", stdin=jsonl({"message": "Back-off restarting failed container"}))
    assert p.returncode == 0, p.stderr
    [line] = p.stdout.splitlines()
    assert json.loads(line)["signature"] == "crashloop-backoff"


def test_messages_text_output() -> None:
    p = run("messages", "-i", "-", "--output", "text", stdin=jsonl({"message": CSI_ENOENT}, "oops"))
    assert p.returncode == 0, p.stderr
    assert "signature:  runc-procfd-enoent-stale-fuse-csi-bind" in p.stdout
    assert "line 2: error: invalid JSON" in p.stdout


def test_missing_input_file_is_one_line_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    p = run("messages", "--input", str(missing))
    assert p.returncode == 2
    assert p.stdout == ""
    assert p.stderr.strip().count("\n") == 0
    assert str(missing) in p.stderr and "Traceback" not in p.stderr


def test_message_text() -> None:
    p = run("message", CSI_ENOENT, "--reason", "RunContainerError")
    assert p.returncode == 0, p.stderr
    for needle in (
        "signature:  runc-procfd-enoent-stale-fuse-csi-bind",
        "category:   container-start",
        "root cause:",
        "kubelet_root: /data/kubernetes/kubelet",
        "runtime_generation: runc-1.1",
        "next checks (node):",
        "findmnt -T "
        "/data/kubernetes/kubelet/pods/3f9a0c1e-77d2-4a8b-9c3d-2e1f0a9b8c7d/volumes/kubernetes.io~csi/pvc-7/m"
        "ount",
        "remediation:",
    ):
        assert needle in p.stdout, needle


def test_message_json() -> None:
    p = run("message", 'Error: configmap "app-env" not found', "--output", "json")
    assert p.returncode == 0, p.stderr
    [line] = p.stdout.splitlines()
    out = json.loads(line)
    assert out.keys() >= CONTRACT_KEYS
    assert out["signature"] == "config-configmap-secret-missing"
    assert out["facts"] == {"missing_kind": "configmap", "missing_name": "app-env"}


def test_help_documents_json_default() -> None:
    p = run("messages", "--help")
    assert p.returncode == 0
    assert "default: json" in p.stdout


def test_stdin_that_is_not_utf8_does_not_abort() -> None:
    p = subprocess.run(
        [sys.executable, "-m", "podsleuth", "diagnose", "messages", "-i", "-"],
        input=b'{"message": "caf\xe9: Back-off restarting failed container"}\n\xff\xfe\n',
        capture_output=True,
        timeout=60,
    )
    assert p.returncode == 0, p.stderr
    first, second = (json.loads(line) for line in p.stdout.decode().splitlines())
    assert first["signature"] == "crashloop-backoff"
    assert second["line"] == 2


def test_message_in_chinese_text_and_json() -> None:
    """--lang zh: the labels and the signature's texts are Chinese, ids and facts unchanged;
    the Chinese texts pass the same mechanical check as the knowledge base (no English
    sentence outside identifiers, paths, commands and quotes)."""
    from tests.i18n.lint_zh import english_runs, has_chinese

    p = run("message", CSI_ENOENT, "--reason", "RunContainerError", "--lang", "zh")
    assert p.returncode == 0, p.stderr
    needles = ("特征：", "runc-procfd-enoent-stale-fuse-csi-bind", "类别：", "根因：",
               "kubelet_root: /data/kubernetes/kubelet", "下一步检查（节点）：", "处理建议：")  # fmt: skip
    for needle in needles:
        assert needle in p.stdout, needle
    j = run("message", CSI_ENOENT, "--reason", "RunContainerError", "--lang", "zh", "-o", "json")
    out = json.loads(j.stdout)
    assert out["locale"] == "zh" and out["signature"] == "runc-procfd-enoent-stale-fuse-csi-bind"
    assert out.keys() >= CONTRACT_KEYS
    texts = [out["summary"], out["root_cause"], *out["remediation"], *out["next_checks"]]
    commands = ("findmnt", "kubectl", "ls ", "cat ", "mount")
    assert all(has_chinese(t) or t.startswith(commands) for t in texts), texts
    assert [t for t in texts if english_runs(t)] == []
    en = json.loads(run("message", CSI_ENOENT, "--reason", "RunContainerError", "-o", "json").stdout)
    assert en["locale"] == "en" and not has_chinese(json.dumps(en, ensure_ascii=False))
    assert en["facts"] == out["facts"] and en["candidates"] == out["candidates"]


def test_messages_in_chinese_from_the_environment() -> None:
    import os

    env = {**os.environ, "LANG": "zh_CN.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}
    p = subprocess.run(
        [sys.executable, "-m", "podsleuth", "diagnose", "messages", "-i", "-", "-o", "text"],
        input=jsonl({"message": 'Error: configmap "app-env" not found'}, "not json"),
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert "特征：" in p.stdout and "第 2 行：错误：invalid JSON" in p.stdout
