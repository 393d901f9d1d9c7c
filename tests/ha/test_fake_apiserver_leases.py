"""The fake API server serves Leases like kube-apiserver: get one, create (409 AlreadyExists),
replace with optimistic concurrency (409 Conflict on a stale resourceVersion), RBAC on update."""

from __future__ import annotations

import msgspec
import pytest

from podsleuth import errors
from podsleuth.kube import KubeClient
from podsleuth.lab.fake_apiserver import FakeApiServer
from tests.ha.conftest import LEASES

COLLECTION = "/apis/coordination.k8s.io/v1/namespaces/podsleuth/leases"
LEASE = COLLECTION + "/podsleuth-watcher"


def lease(holder: str) -> dict[str, object]:
    return {"metadata": {"name": "podsleuth-watcher"}, "spec": {"holderIdentity": holder}}


async def test_create_get_and_already_exists(api: FakeApiServer, client: KubeClient) -> None:
    with pytest.raises(errors.ApiNotFound):
        await client.get(LEASE)
    created = msgspec.json.decode(await client.post(COLLECTION, lease("a")))
    assert created["kind"] == "Lease" and created["metadata"]["namespace"] == "podsleuth"
    got = msgspec.json.decode(await client.get(LEASE))
    assert got["spec"]["holderIdentity"] == "a"
    assert got["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    with pytest.raises(errors.ApiError) as info:
        await client.post(COLLECTION, lease("b"))
    assert (info.value.status, info.value.reason) == (409, "AlreadyExists")


async def test_replace_with_optimistic_concurrency(api: FakeApiServer, client: KubeClient) -> None:
    created = msgspec.json.decode(await client.post(COLLECTION, lease("a")))
    first = {**created, "spec": {"holderIdentity": "b"}}
    replaced = msgspec.json.decode(await client.put(LEASE, first))
    assert replaced["spec"] == {"holderIdentity": "b"}
    assert int(replaced["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    assert replaced["metadata"]["uid"] == created["metadata"]["uid"]
    stale = {**created, "spec": {"holderIdentity": "c"}}  # still carries the old resourceVersion
    with pytest.raises(errors.ApiConflict) as info:
        await client.put(LEASE, stale)
    assert info.value.status == 409 and info.value.reason == "Conflict"
    assert "the object has been modified" in str(info.value)
    assert msgspec.json.decode(await client.get(LEASE))["spec"]["holderIdentity"] == "b"
    unconditional = {"metadata": {"name": "podsleuth-watcher"}, "spec": {"holderIdentity": "d"}}
    await client.put(LEASE, unconditional)
    assert api.store.get(LEASES, "podsleuth", "podsleuth-watcher") is not None
    assert msgspec.json.decode(await client.get(LEASE))["spec"]["holderIdentity"] == "d"


async def test_replace_errors(api: FakeApiServer, client: KubeClient) -> None:
    with pytest.raises(errors.ApiNotFound):
        await client.put(LEASE, lease("a"))
    await client.post(COLLECTION, lease("a"))
    with pytest.raises(errors.ApiServerError) as bad:
        await client.put(LEASE, {"metadata": {"name": "other"}, "spec": {}})
    assert bad.value.status == 400
    api.deny("update", LEASES)
    with pytest.raises(errors.ApiForbidden) as info:
        await client.put(LEASE, lease("b"))
    assert "leases" in str(info.value)
    api.allow("update", LEASES)
    await client.put(LEASE, lease("b"))


async def test_a_replace_is_a_modified_watch_event(api: FakeApiServer, client: KubeClient) -> None:
    await client.post(COLLECTION, lease("a"))
    rv = msgspec.json.decode(await client.get(COLLECTION, {}))["metadata"]["resourceVersion"]
    await client.put(LEASE, lease("b"))
    lines = []
    params = {"watch": "true", "resourceVersion": rv, "timeoutSeconds": 1}
    async for batch in client.stream_batches(COLLECTION, params, read_timeout=5):
        lines.extend(msgspec.json.decode(line) for line in batch)
    assert [(e["type"], e["object"]["spec"]["holderIdentity"]) for e in lines] == [("MODIFIED", "b")]
