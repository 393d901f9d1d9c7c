"""Every command over a list of bad inputs and unusable resources: exit 2, exactly one line on
stderr naming the problem, never a traceback (issue 11). Run as real processes, so that what a
user sees (logging set up by the CLI, click's own usage errors) is what is tested."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

PODSLEUTH = [sys.executable, "-m", "podsleuth"]


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    says: str  # a substring of the one stderr line
    stdin: bytes = b""
    code: int = 2
    logs: bool = False  # a long-running command may log progress first; the error is the last line


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    d = tmp_path_factory.mktemp("bad")
    (d / "adir").mkdir()
    (d / "notdb.db").write_bytes(b"this is not a database, just forty-odd bytes\n" * 4)
    newer = sqlite3.connect(d / "newer.db")
    newer.execute("PRAGMA user_version = 999")
    newer.commit()
    newer.close()
    (d / "empty.tok").write_text("")
    (d / "short.tok").write_text("abc\n")
    (d / "good.tok").write_text("x" * 32 + "\n")
    (d / "regex.yaml").write_text(
        "alerts:\n  receivers:\n    - {name: a, kubernetes_events: {}}\n"
        "  routes:\n    - match: {namespace: '~(unclosed'}\n      receivers: [a]\n"
    )
    (d / "unknown-receiver.yaml").write_text("alerts:\n  routes:\n    - receivers: [ghost]\n")
    (d / "dup.yaml").write_text("store: a.db\nstore: b.db\n")
    (d / "kubeconfig").write_text(
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'http://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {token: abc}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
        "current-context: x\n"
    )
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    paths = {
        k: str(d / k)
        for k in (
            "adir",
            "notdb.db",
            "newer.db",
            "empty.tok",
            "short.tok",
            "good.tok",
            "regex.yaml",
            "unknown-receiver.yaml",
            "dup.yaml",
            "kubeconfig",
        )
    }
    paths["busy"] = f"127.0.0.1:{busy.getsockname()[1]}"
    paths["s.db"] = str(d / "s.db")
    paths["missing"] = str(d / "missing")
    ro = d / "ro"  # a store on a file system that turned read-only (root: a real tmpfs mount)
    ro.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(ro)], check=True, timeout=30)
    try:
        made = subprocess.run(
            [*PODSLEUTH, "silence", "list", "--store", str(ro / "s.db")],
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert made.returncode == 0, made.stderr
        subprocess.run(["mount", "-o", "remount,ro", str(ro)], check=True, timeout=30)
        paths["ro"] = str(ro / "s.db")
        yield paths
    finally:
        busy.close()
        subprocess.run(["umount", "-l", str(ro)], check=False, timeout=30)


def _cases(p: dict[str, str]) -> list[Case]:
    stores = [
        ("dir", p["adir"], "is a directory"),
        ("notdb", p["notdb.db"], "not a database"),
        ("newer", p["newer.db"], "newer"),
        ("readonly", p["ro"], "read-only file system"),
    ]
    cases = []
    for name, store, says in stores:
        cases += [
            Case(f"incidents-list-{name}", ("incidents", "list", "--store", store), says),
            Case(f"silence-list-{name}", ("silence", "list", "--store", store), says),
            Case(
                f"silence-add-{name}",
                ("silence", "add", "--match", "namespace=a", "--for", "1h", "--store", store),
                says,
            ),
        ]
    cases += [
        Case("incidents-show-dir", ("incidents", "show", "x", "--store", p["adir"]), "is a directory"),
        Case("ui-dir", ("ui", "--store", p["adir"], "--listen", "127.0.0.1:1"), "is a directory"),
    ]
    cases += [
        Case(
            "watch-store-dir",
            ("watch", "--demo", "--duration", "1", "--store", p["adir"]),
            "is a directory",
        ),
        Case("watch-store-newer", ("watch", "--demo", "--duration", "1", "--store", p["newer.db"]), "newer"),
        Case(
            "watch-store-readonly",
            ("watch", "--duration", "1", "--store", p["ro"], "--kubeconfig", p["kubeconfig"]),
            "read-only",
        ),
        Case("watch-config-missing", ("watch", "--config", p["missing"]), "does not exist"),
        Case(
            "watch-config-regex",
            ("watch", "--demo", "--config", p["regex.yaml"]),
            "invalid regular expression",
        ),
        Case(
            "watch-unknown-receiver",
            ("watch", "--demo", "--config", p["unknown-receiver.yaml"]),
            "unknown receiver 'ghost'",
        ),
        Case(
            "watch-never-synced",
            ("-q", "watch", "--kubeconfig", p["kubeconfig"], "--duration", "1.5", "--store", p["s.db"]),
            "before its first list",
            logs=True,
        ),
        Case("watch-bad-duration", ("watch", "--duration", "-1"), "--duration"),
        Case("config-show-dup", ("config", "show", "--config", p["dup.yaml"]), "duplicate key 'store'"),
        Case("config-show-regex", ("config", "show", "--config", p["regex.yaml"]), "regular expression"),
        Case("manifests-unknown-receiver", ("manifests", "--config", p["unknown-receiver.yaml"]), "ghost"),
        Case("manifests-replicas", ("manifests", "--replicas", "0"), "--replicas"),
        Case("diagnose-message-empty", ("diagnose", "message", ""), "empty"),
        Case("diagnose-messages-missing", ("diagnose", "messages", "-i", p["missing"]), "cannot read"),
        Case("diagnose-messages-dir", ("diagnose", "messages", "-i", p["adir"]), "is a directory"),
        Case(
            "diagnose-pod-unreachable",
            ("diagnose", "pod", "p", "-n", "d", "--kubeconfig", p["kubeconfig"]),
            "cannot reach the API server",
        ),
        Case(
            "diagnose-pod-bad-kubeconfig",
            ("diagnose", "pod", "p", "-n", "d", "--kubeconfig", p["dup.yaml"]),
            "kubeconfig",
        ),
        Case("node-check-proc", ("node", "check", "--proc", "/nonexistent"), "--proc /nonexistent"),
        Case("node-check-mount-pid", ("node", "check", "--mount-pid", "one"), "--mount-pid"),
        Case("node-check-kernel-log", ("node", "check", "--kernel-log", p["missing"]), "--kernel-log"),
        Case("node-check-since", ("node", "check", "--since", "soon"), "--since"),
        Case(
            "node-serve-port-range",
            ("node", "serve", "--insecure-no-auth", "--listen", "127.0.0.1:99999"),
            "port must be 1-65535",
        ),
        Case(
            "node-serve-port-in-use",
            (
                "node",
                "serve",
                "--token-file",
                p["good.tok"],
                "--listen",
                p["busy"],
                "--kubelet-dir",
                p["adir"],
            ),
            "address already in use",
        ),
        Case("node-serve-empty-token", ("node", "serve", "--token-file", p["empty.tok"]), "empty"),
        Case("node-serve-short-token", ("node", "serve", "--token-file", p["short.tok"]), "at least 16"),
        Case(
            "node-serve-no-auth",
            (
                "node",
                "serve",
            ),
            "--token-file or --token-review",
        ),
        Case(
            "node-serve-proc",
            ("node", "serve", "--token-file", p["good.tok"], "--proc", "/nonexistent"),
            "--proc",
        ),
        Case(
            "silence-huge-duration",
            ("silence", "add", "--match", "namespace=a", "--for", "99999999999999d", "--store", p["s.db"]),
            "at most 366d",
        ),
        Case(
            "silence-inf-duration",
            ("silence", "add", "--match", "namespace=a", "--for", "1e999s", "--store", p["s.db"]),
            "--for",
        ),
        Case(
            "silence-repeated-key",
            (
                "silence",
                "add",
                "--match",
                "namespace=a",
                "--match",
                "namespace=b",
                "--for",
                "1h",
                "--store",
                p["s.db"],
            ),
            "given twice",
        ),
        Case(
            "silence-bad-regex",
            ("silence", "add", "--match", "pod=~(x", "--for", "1h", "--store", p["s.db"]),
            "regular expression",
        ),
        Case(
            "silence-bad-match",
            ("silence", "add", "--match", "nokey", "--for", "1h", "--store", p["s.db"]),
            "key=value",
        ),
        Case("silence-expire-none", ("silence", "expire", "zzz", "--store", p["s.db"]), "no active silence"),
        Case("ui-listen", ("ui", "--listen", "nohost", "--store", p["s.db"]), "--listen"),
        Case("ui-short-token", ("ui", "--token-file", p["short.tok"], "--store", p["s.db"]), "at least 16"),
        Case(
            "ui-token-no-dir",
            ("ui", "--token-file", p["adir"] + "/nope/token", "--store", p["s.db"]),
            "no such directory",
        ),
        Case("no-such-command", ("frobnicate",), "No such command"),
    ]
    return cases


def _run(case: Case) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*PODSLEUTH, *case.argv],
        input=case.stdin,
        capture_output=True,
        timeout=60,
        check=False,
        env={**os.environ, "PODSLEUTH_NO_COLOR": "1"},
    )


def test_every_command_over_bad_inputs(env: dict[str, str]) -> None:
    # the store the silence cases need must exist (created by a good command first)
    ok = subprocess.run(
        [*PODSLEUTH, "silence", "list", "--store", env["s.db"]], capture_output=True, timeout=60, check=False
    )
    assert ok.returncode == 0, ok.stderr
    cases = _cases(env)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_run, cases))
    problems = []
    for case, cp in zip(cases, results, strict=True):
        err = cp.stderr.decode("utf-8", "replace")
        lines = [line for line in err.splitlines() if line.strip()]
        one_line = len(lines) == 1 or (case.logs and bool(lines))
        if cp.returncode != case.code or "Traceback" in err or not one_line or case.says not in lines[-1]:
            problems.append(f"{case.id}: exit {cp.returncode}, stderr {err[-600:]!r}")
    assert not problems, "\n".join(problems)


def test_a_bad_stored_silence_never_breaks_silence_list(env: dict[str, str]) -> None:
    """A row written before the bounds existed (ends in year 10**12) lists, with the others; rows
    whose matchers are not a JSON object of strings are skipped, one warning line each."""
    store = env["s.db"]
    assert (
        subprocess.run(
            [*PODSLEUTH, "silence", "add", "--match", "namespace=ok", "--for", "1h", "--store", store],
            capture_output=True,
            timeout=60,
            check=False,
        ).returncode
        == 0
    )
    db = sqlite3.connect(store)
    table = "silences"
    columns = [r[1] for r in db.execute(f"PRAGMA table_info({table})")]
    row = {
        "id": "bad0000000",
        "matchers": '{"namespace": "~(x"}',
        "starts_at": 0.0,
        "ends_at": 8.6e18,
        "comment": "",
        "created_by": "old",
        "created_at": 0.0,
    }
    insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    db.execute(insert, [row.get(c, "") for c in columns])
    # matchers that are not JSON, or not an object of strings: skipped alone, with a warning
    for bad_id, matchers in (("badjson000", '{"namespace": '), ("badshape00", '["namespace"]')):
        bad = {**row, "id": bad_id, "matchers": matchers, "ends_at": 9e9}
        db.execute(insert, [bad.get(c, "") for c in columns])
    db.commit()
    db.close()
    for output in ("text", "json"):
        cp = subprocess.run(
            [*PODSLEUTH, "silence", "list", "-o", output, "--store", store],
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert cp.returncode == 0, cp.stderr
        assert b"Traceback" not in cp.stderr
        assert b"bad0000000" in cp.stdout and b"namespace" in cp.stdout
        assert b"badjson000" not in cp.stdout and b"badshape00" not in cp.stdout
        warned = [line for line in cp.stderr.splitlines() if b"badjson000" in line or b"badshape00" in line]
        assert len(warned) == 2, cp.stderr
