"""`podsleuth incidents list|show` over a store the real watcher wrote."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "podsleuth", "incidents", *args], capture_output=True, text=True, timeout=60
    )


def test_list_json_is_one_contract_incident_per_line_open_first_by_severity(demo_store: Path) -> None:
    out = run("list", "--state", "all", "--store", f"sqlite:///{demo_store}", "-o", "json")
    assert out.returncode == 0, out.stderr
    incidents = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(incidents) >= 6
    for incident in incidents:
        assert {
            "id",
            "fingerprint",
            "category",
            "severity",
            "namespace",
            "pod",
            "node",
            "count",
            "first_seen",
            "last_seen",
            "diagnosis",
        } <= incident.keys()
    rank = {"critical": 0, "error": 1, "warning": 2}
    order = [(i["resolved_at"] is not None, rank[i["severity"]]) for i in incidents]
    assert order == sorted(order), "open before resolved, then most severe first"
    assert order[0] == (False, 0)


def test_list_filters(demo_store: Path) -> None:
    store = f"sqlite:///{demo_store}"
    oom = run("list", "--category", "oom-killed", "--store", store, "-o", "json")
    assert {json.loads(line)["category"] for line in oom.stdout.splitlines()} == {"oom-killed"}
    shop = run("list", "-n", "shop", "--store", store, "-o", "json")
    assert {json.loads(line)["namespace"] for line in shop.stdout.splitlines()} == {"shop"}
    nothing = run("list", "--severity", "warning", "-n", "nope*", "--store", store)
    assert nothing.returncode == 0 and "no open incidents match" in nothing.stdout


def test_show_tells_the_whole_story_by_id_prefix(demo_store: Path) -> None:
    listed = run("list", "--category", "container-start", "--store", f"sqlite:///{demo_store}", "-o", "json")
    incident = json.loads(listed.stdout.splitlines()[0])
    out = run("show", incident["id"][:6], "--store", f"sqlite:///{demo_store}")
    assert out.returncode == 0, out.stderr
    for heading in ("ROOT CAUSE", "EVIDENCE", "WHAT TO DO", "AFFECTED", "TIMELINE", "NOTIFICATIONS"):
        assert heading in out.stdout
    assert "stale-fuse-bind-after-daemon-restart" in out.stdout
    as_json = json.loads(
        run("show", incident["id"], "--store", f"sqlite:///{demo_store}", "-o", "json").stdout
    )
    assert as_json["id"] == incident["id"] and as_json["timeline"][0]["event"] == "incident.opened"


def test_hostile_text_cannot_drive_the_terminal(demo_store: Path) -> None:
    out = run("show", "b00b5a1e0001", "--store", f"sqlite:///{demo_store}")
    assert out.returncode == 0 and "\x1b" not in out.stdout


def test_missing_store_or_incident_is_one_line_exit_2(demo_store: Path, tmp_path: Path) -> None:
    missing = run("list", "--store", f"sqlite:///{tmp_path}/none.db")
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1
    assert "no incident store" in missing.stderr and not (tmp_path / "none.db").exists()
    unknown = run("show", "ffffffffffff", "--store", f"sqlite:///{demo_store}")
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    bad_since = run("list", "--since", "soon", "--store", f"sqlite:///{demo_store}")
    assert bad_since.returncode == 2 and "--since" in bad_since.stderr


def test_show_speaks_the_chosen_language(demo_store: Path) -> None:
    import os

    from tests.i18n.lint_zh import english_runs, has_chinese

    store = f"sqlite:///{demo_store}"
    listed = run("list", "--category", "container-start", "--store", store, "-o", "json")
    incident_id = json.loads(listed.stdout.splitlines()[0])["id"]
    zh_env = {**os.environ, "LANG": "zh_CN.UTF-8", "LC_ALL": ""}
    cmd = [sys.executable, "-m", "podsleuth", "incidents", "show", incident_id, "--store", store]
    zh = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=zh_env)
    assert zh.returncode == 0, zh.stderr
    for heading in ("根因", "证据", "处理建议", "受影响对象", "时间线", "通知记录"):
        assert heading in zh.stdout
    story = zh.stdout.split("根因", 1)[1].split("受影响对象", 1)[0]
    prose = [ln for ln in story.splitlines() if has_chinese(ln)]
    assert len(prose) >= 3 and [r for ln in prose for r in english_runs(ln)] == []
    en = subprocess.run([*cmd, "--lang", "en"], capture_output=True, text=True, timeout=60, env=zh_env)
    assert "ROOT CAUSE" in en.stdout and not has_chinese(en.stdout.split("AFFECTED")[0])
    shown = subprocess.run([*cmd, "-o", "json", "--lang", "zh"], capture_output=True, text=True, timeout=60)
    as_json = json.loads(shown.stdout)
    assert as_json["diagnosis"]["locale"] == "zh" and has_chinese(as_json["diagnosis"]["summary"])
    assert as_json["diagnosis"]["root_cause"] == "stale-fuse-bind-after-daemon-restart"  # ids stay
