"""The console's and `incidents list`'s questions, on both backends."""

from __future__ import annotations

from podsleuth.store.base import Silence
from podsleuth.store.queries import IncidentFilter, changed_since, find_incident, list_incidents, story
from tests.store.conftest import Backend


def change(iid: str, *, event: str = "incident.opened", **fields: object) -> dict[str, object]:
    incident: dict[str, object] = {
        "id": iid,
        "fingerprint": f"fp-{iid}",
        "category": "crash-loop",
        "severity": "error",
        "namespace": "shop",
        "pod": f"{iid}-pod",
        "node": "node-1",
        "cluster": "eu",
        "message": "back-off restarting",
        "diagnosis": {"root_cause": "app-crash", "summary": "it crashed"},
    }
    incident.update(fields)
    return {"event": event, "incident": incident}


async def test_filters_order_counts_and_pages(backend: Backend) -> None:
    store = await backend.open()
    try:
        await store.record_change(change("aaaa01", severity="warning"), at=100.0)
        await store.record_change(change("aaaa02", severity="critical", cluster="us"), at=101.0)
        await store.record_change(change("aaaa03", namespace="data", category="oom-killed"), at=102.0)
        await store.record_change(change("aaaa04", event="incident.resolved", severity="critical"), at=103.0)
        everything = await list_incidents(store, IncidentFilter(state="all"))
        assert [r.id for r in everything.incidents] == ["aaaa02", "aaaa03", "aaaa01", "aaaa04"]
        assert everything.by_cluster == {"eu": 3, "us": 1} and everything.by_category["crash-loop"] == 3
        assert everything.latest_change == 103.0
        open_only = await list_incidents(store, IncidentFilter())
        assert {r.id for r in open_only.incidents} == {"aaaa01", "aaaa02", "aaaa03"}
        shop = await list_incidents(store, IncidentFilter(namespaces=("sh*",), cluster="eu"))
        assert [r.id for r in shop.incidents] == ["aaaa01"]
        text = await list_incidents(store, IncidentFilter(state="all", text="AAAA03-POD"))
        assert [r.id for r in text.incidents] == ["aaaa03"]
        cause = await list_incidents(store, IncidentFilter(text="app-crash"))
        assert cause.total == 3
        second = await list_incidents(store, IncidentFilter(state="all"), limit=2, offset=2)
        assert [r.id for r in second.incidents] == ["aaaa01", "aaaa04"] and second.total == 4
        recent = await list_incidents(store, IncidentFilter(state="all", since=102.0))
        assert {r.id for r in recent.incidents} == {"aaaa03", "aaaa04"}
        assert [r.id for r in await changed_since(store, 101.5)] == ["aaaa03", "aaaa04"]
    finally:
        await store.aclose()


async def test_find_by_prefix_and_the_story(backend: Backend) -> None:
    store = await backend.open()
    try:
        await store.record_change(change("bbbb0001"), at=10.0)
        await store.record_change(change("bbbb0002"), at=11.0)
        await store.record_change(change("bbbb0001", event="incident.updated", count=2), at=12.0)
        assert await find_incident(store, "bbbb") is None, "an ambiguous prefix finds nothing"
        found = await find_incident(store, "bbbb0001")
        assert found is not None
        assert (await find_incident(store, "bbbb000%")) is None, "LIKE wildcards are literal"
        await store.add_silence(Silence("s1", {"namespace": "sh*"}, 0.0, 99.0, "c", "me", 0.0))
        await store.add_silence(Silence("s2", {"namespace": "other"}, 0.0, 99.0, "c", "me", 0.0))
        told = await story(store, found, now=50.0)
        assert [event for _, event, _ in told.timeline] == ["incident.opened", "incident.updated"]
        assert [s["id"] for s in told.silences] == ["s1"]
        assert told.notifications == []
    finally:
        await store.aclose()


async def test_an_update_that_refines_the_category_moves_the_fingerprint(backend: Backend) -> None:
    """A vague stuck incident explained later becomes the precise one under the same id; the
    stored fingerprint follows, so a restart re-detecting the precise one finds it."""
    store = await backend.open()
    try:
        await store.record_change(change("cccc01", category="container-start"), at=1.0)
        refined = change("cccc01", event="incident.updated", category="volume-mount")
        refined["incident"]["fingerprint"] = "fp-volume"  # type: ignore[index]
        await store.record_change(refined, at=2.0)
        [record] = await store.open_incidents()
        assert record.fingerprint == "fp-volume" and record.data["category"] == "volume-mount"
    finally:
        await store.aclose()
