"""The 60-second soak (``bench/soak.py --quick``) as a test: two real ``podsleuth watch``
replicas (leader election, one PostgreSQL store) against the fake API server with 20,000 pods,
churn, episodes and API faults, a webhook that fails 30 % of the time, and the leader
SIGKILLed (and restarted under the same identity) every 20 s.

It asserts issue 14's promises: no notification lost, none duplicated, resident memory flat
after warm-up (<= 5 % growth), and the incidents open at the end those the scenario left open.
The sanity checks first make sure the run actually exercised something, so an empty run
cannot pass.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("soak") / "summary.json"
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "soak.py"), "--quick", "--json", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    data: dict[str, Any] = json.loads(out.read_text())
    data["stdout"] = result.stdout
    return data


def test_the_soak_exercised_episodes_faults_and_a_failing_receiver(summary: dict[str, Any]) -> None:
    assert summary["expected_opened"] >= 8, summary["stdout"]
    assert summary["receiver_failed"] > 0 and summary["receiver_accepted"] > summary["expected_opened"]
    assert len(summary["rss_series"]) >= 10


def test_no_notification_is_lost(summary: dict[str, Any]) -> None:
    assert summary["lost_opened"] == [], summary["stdout"]
    assert summary["lost_resolved"] == [], summary["stdout"]


def test_the_leader_was_killed_and_a_standby_took_over(summary: dict[str, Any]) -> None:
    assert summary["replicas"] == 2
    assert summary["kills"], summary["stdout"]
    for kill in summary["kills"]:
        assert kill["took_over"] not in (None, kill["killed"]), summary["stdout"]


def test_no_notification_is_duplicated(summary: dict[str, Any]) -> None:
    """Redeliveries after the SIGKILL carry ``possible_duplicate`` and the sequence already
    seen, so a receiver following the contract drops them; nothing else may repeat."""
    assert summary["duplicates"] == [], summary["stdout"]
    assert summary["extra_copies_unflagged"] == 0, summary["stdout"]


def test_no_incident_the_scenario_did_not_cause(summary: dict[str, Any]) -> None:
    assert summary["unexpected"] == [], summary["stdout"]


def test_open_incidents_at_the_end_match_the_truth(summary: dict[str, Any]) -> None:
    assert summary["open_seen"] == summary["open_truth"], summary["stdout"]
    assert summary["open_gauge"] == summary["open_truth"], summary["stdout"]


def test_memory_is_flat_after_warm_up(summary: dict[str, Any]) -> None:
    assert summary["rss_growth"] <= 0.05, summary["stdout"]
