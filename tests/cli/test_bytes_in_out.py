"""Whatever the bytes in, ``diagnose messages`` answers every line, in order, in valid UTF-8,
and ``node check -o json`` and ``node serve`` escape a non-UTF-8 mount path the same way."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from podsleuth.node.check import CheckOptions
from podsleuth.node.server import ServerConfig, make_app

PODSLEUTH = [sys.executable, "-m", "podsleuth"]
UID = "0a1b2c3d-0000-4000-8000-000000000001"


def _run(argv: list[str], stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*PODSLEUTH, *argv], input=stdin, capture_output=True, timeout=60, check=False)


def test_issue_example_answers_all_three_lines() -> None:
    stdin = b'{"message":"ok"}\n{"message":"x\\ud800"}\n{"message":"ok3"}\n'
    cp = _run(["diagnose", "messages", "-i", "-"], stdin)
    assert cp.returncode == 0, cp.stderr
    assert b"Traceback" not in cp.stderr
    out = [json.loads(line) for line in cp.stdout.decode("utf-8").splitlines()]
    assert [o["message"] for o in out] == ["ok", "x\ufffd", "ok3"]


def test_one_line_out_per_line_in_whatever_the_bytes() -> None:
    lines = [
        b'{"message": "ImagePullBackOff"}',
        b'{"message": "a\\u0000b"}',  # escaped NUL: a valid message
        b'{"message": "raw\x00nul"}',  # raw NUL: invalid JSON, still one answer
        b"\xff\xfe\xfd",  # invalid UTF-8
        b'{"message": "caf\xe9"}',  # latin-1, not UTF-8
        b'{"message": "cr\rinside"}',  # a CR is not a line end
        b'{"message": "ls\xe2\x80\xa8ps\xe2\x80\xa9"}',  # U+2028/U+2029 are not line ends either
        b'{"message": "\\udc80\\udfff\\ud83d"}',  # lone surrogates of every kind
        b'{"message": "pair \\ud83d\\ude00"}',  # a valid surrogate pair stays an emoji
        b"",
        b'{"message": "last"}',
    ]
    cp = _run(["diagnose", "messages", "-i", "-"], b"\n".join(lines) + b"\n")
    assert cp.returncode == 0, cp.stderr
    text = cp.stdout.decode("utf-8")  # strict: raises on invalid UTF-8
    out = [json.loads(line) for line in text.split("\n")[:-1]]
    assert len(out) == len(lines)
    assert out[0]["message"] == "ImagePullBackOff" and out[1]["message"] == "a\x00b"
    assert "error" in out[2] and out[2]["line"] == 3
    assert "error" in out[3] and out[3]["line"] == 4
    assert out[4]["message"] == "caf\ufffd"
    assert "error" in out[5]  # a raw control character inside a JSON string is invalid JSON
    assert out[6]["message"] == "ls\u2028ps\u2029"
    assert out[7]["message"] == "\ufffd\ufffd\ufffd"
    assert out[8]["message"] == "pair \U0001f600"
    assert out[9] == {"line": 10, "error": "empty line"}
    assert out[10]["message"] == "last"
    for mode in ("text",):
        cp = _run(["diagnose", "messages", "-i", "-", "-o", mode], b"\n".join(lines) + b"\n")
        assert cp.returncode == 0 and b"Traceback" not in cp.stderr
        cp.stdout.decode("utf-8")


def test_one_message_with_surrogates_from_argv() -> None:
    # argv bytes that are not UTF-8 arrive as surrogateescape code points
    cp = subprocess.run(
        [
            *PODSLEUTH,
            "diagnose",
            "message",
            b"no such file \xff".decode("utf-8", "surrogateescape"),
            "-o",
            "json",
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert cp.returncode == 0, cp.stderr
    assert json.loads(cp.stdout.decode("utf-8"))["message"] == "no such file \\xff"


def _odd_tree(tmp_path: Path) -> tuple[Path, Path, Path]:
    kubelet, proc = tmp_path / "kubelet", tmp_path / "proc"
    (proc / "1").mkdir(parents=True)
    kubelet.mkdir()
    path = bytes(kubelet) + f"/pods/{UID}/volumes/kubernetes.io~csi/v\xff\xfeol/mount".encode("latin-1")
    (proc / "1" / "mountinfo").write_bytes(b"100 1 0:55 / " + path + b" rw - fuse.s3fs s3fs rw\n")
    log = tmp_path / "kern.log"
    log.write_text("")
    return kubelet, proc, log


async def test_node_check_and_serve_escape_paths_alike(tmp_path: Path) -> None:
    kubelet, proc, log = _odd_tree(tmp_path)
    cp = _run(
        [
            "node",
            "check",
            "--proc",
            str(proc),
            "--kubelet-dir",
            str(kubelet),
            "--kernel-log",
            str(log),
            "-o",
            "json",
        ]
    )
    assert cp.returncode == 0, cp.stderr
    from_check = {json.loads(line)["path"] for line in cp.stdout.decode("utf-8").splitlines()}
    expected = f"{kubelet}/pods/{UID}/volumes/kubernetes.io~csi/v\\xff\\xfeol/mount"
    assert from_check == {expected}
    opts = CheckOptions(kubelet_dirs=(str(kubelet),), proc=str(proc), mount_pid="1", kernel_log=str(log))
    async with TestClient(TestServer(make_app(ServerConfig(options=opts)))) as client:
        r = await client.get("/v1/findings")
        body = await r.read()
    from_serve = {f["path"] for f in json.loads(body.decode("utf-8"))["findings"]}
    assert from_serve == from_check
