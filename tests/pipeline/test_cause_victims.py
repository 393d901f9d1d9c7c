"""Cause and victims linked through the real chain: a CSI plugin pod OOM-killed on a node and the
app pods on that node that cannot start on its dead FUSE mount, served by the fake API server and
watched by the real ``WatchPipeline`` (API link included). Both arrival orders."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import msgspec
import pytest

from podsleuth.alert.grouping import Policy, plan_batch
from podsleuth.alert.model import content_hash, decode_change
from podsleuth.alert.render import Renderer
from podsleuth.cli.render import LiveView
from podsleuth.config import Settings, parse_settings
from podsleuth.detect import IncidentChange
from podsleuth.diagnose.diagnosis import as_diagnosis
from podsleuth.lab import seed_objects
from podsleuth.lab.seed import SeededIncident
from podsleuth.store.base import NotifyState, QueuedChange
from tests.pipeline.conftest import Running


@pytest.fixture
def settings(request: pytest.FixtureRequest) -> Settings:
    """The pipeline's fast settings, but an OOM kill stays an incident for a minute (on a loaded
    machine the victims' diagnosis may take longer than the conftest's 1 s), unless the test is
    marked ``quick_resolve``."""
    after = "1s" if request.node.get_closest_marker("quick_resolve") else "60s"
    return parse_settings(
        "watch:\n  backoff_max: 0.2s\n  read_timeout: 5s\n"
        f"  thresholds: {{stuck_creating: 2s, pending: 1s, resolve_after: {after}, terminating_extra: 1s}}\n"
    )


SCHEMA = json.loads((Path(__file__).parents[2] / "docs/webhook-payload.schema.json").read_text())

NODE = "worker-1"
PLUGIN = f"{seed_objects.PLUGIN_NAMESPACE}/csi-cephfsplugin-"
APPS = ("dashboard-7c9d8-aaaaa", "dashboard-7c9d8-bbbbb", "dashboard-7c9d8-ccccc")


def _seeded() -> SeededIncident:
    uid = "0b6d1f0e-5a43-4c1e-9d7b-2f8e1c3a4b5d"
    mount = f"/var/lib/kubelet/pods/{uid}/volumes/kubernetes.io~csi/pvc-data/mount"
    return SeededIncident(
        workdir="/nonexistent", kubelet_dir="/nonexistent", pod_uid=uid, namespace="monitoring",
        pod_name=APPS[0], pv_name="pvc-data", csi_driver="cephfs.csi.ceph.com", pod_mount_path=mount,
        staging_path="/nonexistent", runc_version="1.1",
        runtime_error=(
            "runc create failed: unable to start container process: error during container init: "
            f'error mounting "{mount}" to rootfs at "/data": '
            f"stat {mount}: transport endpoint is not connected"
        ),
        oom_kill={}, old_daemon_pid=4242, new_daemon_pid=4343, timeline=[], node_name=NODE,
        plugin_pod_uid="plugin-uid-1", started=datetime.now(UTC).timestamp(),
    )  # fmt: skip


def _objects(oom_at: datetime) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, Any]]:
    """The lab's objects with three app pods (and their events) instead of one; the plugin pod's
    OOM kill at ``oom_at``. Returns (everything but the plugin pod, the plugin pod)."""
    objs = seed_objects.objects(_seeded())
    plugin = next(
        o for p, o in objs if p == "pods" and o["metadata"]["namespace"] == seed_objects.PLUGIN_NAMESPACE
    )
    last = plugin["status"]["containerStatuses"][1]["lastState"]["terminated"]
    last["finishedAt"] = oom_at.isoformat().replace("+00:00", "Z")
    rest: list[tuple[str, dict[str, Any]]] = []
    for plural, obj in objs:
        if obj is plugin:
            continue
        if obj["metadata"].get("name", "").startswith(APPS[0]):
            for i, name in enumerate(APPS):
                o = copy.deepcopy(obj)
                o["metadata"]["name"] = o["metadata"]["name"].replace(APPS[0], name)
                o["metadata"]["uid"] = f"{o['metadata']['uid']}-{i}"
                if "regarding" in o:
                    o["regarding"].update(name=name, uid=f"{_seeded().pod_uid}-{i}")
                rest.append((plural, o))
        else:
            rest.append((plural, obj))
    return rest, plugin


def _latest(changes: list[IncidentChange]) -> dict[str, IncidentChange]:
    out: dict[str, IncidentChange] = {}
    for c in changes:
        out[c.incident.id] = c
    return out


def _plugin_incident(run: Running) -> IncidentChange | None:
    return next(
        (c for c in reversed(run.changes) if c.incident.namespace == seed_objects.PLUGIN_NAMESPACE), None
    )


def _linked(run: Running) -> bool:
    cause = _plugin_incident(run)
    if cause is None:
        return False
    d = as_diagnosis(cause.incident.diagnosis)
    if d is None or not d.victims or len(d.victims.pods) != len(APPS):
        return False
    victims = [c for c in _latest(run.changes).values() if c.incident.namespace == "monitoring"]
    return all(
        (v := as_diagnosis(c.incident.diagnosis)) is not None
        and v.caused_by
        and v.caused_by.incident == cause.incident.id
        for c in victims
    ) and bool(victims)


def _assert_both_directions(run: Running) -> None:
    cause = _plugin_incident(run)
    assert cause is not None
    d = cause.to_contract()["incident"]["diagnosis"]
    assert d["victims"]["pods"] == sorted(f"monitoring/{n}" for n in APPS)
    victims = {
        c.incident.id: c for c in _latest(run.changes).values() if c.incident.namespace == "monitoring"
    }
    assert sorted(d["victims"]["incidents"]) == sorted(victims)
    for change in victims.values():
        v = change.to_contract()["incident"]["diagnosis"]["caused_by"]
        assert v["incident"] == cause.incident.id and v["node"] == NODE and v["cause"] == "oom-killed"
        assert v["subject"].startswith(PLUGIN) and v["container"] == "csi-cephfsplugin"
    assert "caused_by" not in d and cause.incident.category == "oom-killed"
    _assert_one_message(cause, list(victims.values()))
    _assert_live_view(run, cause)


def _assert_live_view(run: Running, cause: IncidentChange) -> None:
    """The live view says each direction in one line, in both languages."""
    for lang, victims_word, caused_word in (
        ("en", "victims: 3 pods", "caused by"),
        ("zh", "受影响：3 个 Pod", "起因："),
    ):
        view = LiveView(width=200, lang=lang)
        text = "\n".join(t for c in run.changes if (t := view.render(c)))
        assert (
            victims_word in text and f"{caused_word}{' ' if lang == 'en' else ''}{cause.incident.id}" in text
        )


def _assert_one_message(cause: IncidentChange, victims: list[IncidentChange]) -> None:
    """The webhook body validates; the victims, already heard and unchanged, still go out in the
    cause's batch; the chat message (en and zh) says both directions, the victims after the cause."""
    raws = [json.loads(msgspec.json.encode(c.to_contract())) for c in (*victims, cause)]
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for n, raw in enumerate(raws, 1):  # one webhook body per change
        body = {**raw, "delivery": {"sequence": n, "possible_duplicate": False}}
        assert not [e.message for e in validator.iter_errors(body)]
    rows = [QueuedChange(n, "r", r["incident"]["id"], r["event"], r, 0.0, 0.0) for n, r in enumerate(raws)]
    heard = {  # every victim was told before, with this very content: alone it would wait
        r["incident"]["id"]: NotifyState("r", r["incident"]["id"], 99.0, content_hash(decode_change(r)), "x")
        for r in raws[:-1]
    }
    for together in (True, False):
        policy = Policy(repeat_interval=3600, send_resolved=True, max_batch=100, victims_with_cause=together)
        plan = plan_batch(
            rows, receiver="r", states=heard, silences=[], policy=policy, targets=["t"], now=100.0
        )
        assert len(plan.sent_ids) == (len(rows) if together else 1), plan.suppressed
    changes = [decode_change(r) for r in raws]
    en = Renderer(locale="en", max_detail=10).render(changes, fmt="markdown").body
    assert f"victims: {len(APPS)} pods: monitoring/{APPS[0]}" in en
    assert en.count(f"caused by {cause.incident.id} ({PLUGIN}") == len(victims)
    assert en.index("victims:") < en.index("caused by")  # the cause's block comes first
    zh = Renderer(locale="zh", max_detail=10).render(changes, fmt="text").body
    assert f"受影响：{len(APPS)} 个 Pod：" in zh and zh.count(f"起因：{cause.incident.id}（") == len(victims)
    apart = Renderer(locale="en", max_detail=10, victims_with_cause=False).render(changes, fmt="markdown")
    assert apart.body.index("caused by") < apart.body.index("victims:")  # root-cause groups instead


async def test_cause_first_then_victims(running: Running) -> None:
    rest, plugin = _objects(datetime.now(UTC))
    running.api.put("nodes", next(o for p, o in rest if p == "nodes"))
    running.api.put("pods", plugin)
    await running.until(lambda: _plugin_incident(running) is not None)
    for plural, obj in rest:
        running.api.put(plural, obj)
    await running.until(lambda: _linked(running), within=20)
    _assert_both_directions(running)


async def test_victims_first_then_cause(running: Running) -> None:
    # the plugin's earlier OOM kill is too old to be an incident, yet the victims' API link sees it
    rest, plugin = _objects(datetime.now(UTC) - timedelta(days=1))
    running.api.put("pods", plugin)
    for plural, obj in rest:
        running.api.put(plural, obj)

    def victims_diagnosed() -> bool:
        ds = [as_diagnosis(c.incident.diagnosis) for c in _latest(running.changes).values()
              if c.incident.namespace == "monitoring"]  # fmt: skip
        return bool(ds) and all(d is not None and d.caused_by for d in ds)

    await running.until(victims_diagnosed, within=20)
    assert _plugin_incident(running) is None
    early = [
        as_diagnosis(c.incident.diagnosis) for c in running.changes if c.incident.namespace == "monitoring"
    ]
    assert any(d is not None and d.caused_by and not d.caused_by.incident for d in early)
    # now it is OOM-killed again: its incident opens and links the victims already out
    again = copy.deepcopy(plugin)
    cs = again["status"]["containerStatuses"][1]
    cs["restartCount"] = 2
    cs["lastState"]["terminated"]["finishedAt"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    running.api.put("pods", again)
    await running.until(lambda: _linked(running), within=20)
    _assert_both_directions(running)


@pytest.mark.quick_resolve
async def test_cause_resolving_keeps_the_victims_pointing_to_it(running: Running) -> None:
    """The plugin restarted and its OOM incident resolves within a second; the pods it left on a
    dead mount stay broken and keep pointing to that (resolved) incident."""
    rest, plugin = _objects(datetime.now(UTC))
    running.api.put("pods", plugin)
    for plural, obj in rest:
        running.api.put(plural, obj)

    def pointed_resolved() -> bool:
        ds = [as_diagnosis(c.incident.diagnosis) for c in _latest(running.changes).values()
              if c.incident.namespace == "monitoring"]  # fmt: skip
        return bool(ds) and all(d is not None and d.caused_by and d.caused_by.resolved for d in ds)

    await running.until(lambda: bool(running.of("incident.resolved")) and pointed_resolved(), within=20)
    resolved = running.of("incident.resolved")[-1]
    assert resolved.incident.namespace == seed_objects.PLUGIN_NAMESPACE
    victims = [c for c in _latest(running.changes).values() if c.incident.namespace == "monitoring"]
    assert victims and all(c.kind != "incident.resolved" for c in victims)
    for c in victims:
        v = c.to_contract()["incident"]["diagnosis"]["caused_by"]
        assert v["incident"] == resolved.incident.id and v["resolved"] is True
    words = LiveView(width=200).render(victims[0])
    assert words is not None and f"caused by {resolved.incident.id} (" in words and ", resolved)" in words
