from __future__ import annotations

from podsleuth.kube import KubeClient
from podsleuth.lab.fake_apiserver import FakeApiServer
from podsleuth.watch import PODS, Reflector

from .helpers import Driver, FakeSleep, names, pod


async def test_relist_reconciles_what_happened_while_disconnected(
    api: FakeApiServer, client: KubeClient
) -> None:
    for name in ("keep", "change", "gone", "replaced"):
        api.put("pods", pod(name))
    reflector = Reflector(client=client, resource=PODS, sleep=FakeSleep())
    async with Driver(reflector) as d:
        await d.until_synced()
        old_uid = reflector.cache[("default", "replaced")].metadata.uid
        await api.wait_for_watches()
        api.stall_watches()  # nothing more reaches the reflector
        api.put("pods", pod("change", phase="Failed"))
        api.delete("pods", "default", "gone")
        api.delete("pods", "default", "replaced")
        api.put("pods", pod("replaced"))  # same name, new uid
        api.put("pods", pod("new"))
        api.compact()
        api.drop_watches()
        changes = await d.until_synced()
    assert sorted(names(changes)) == sorted(
        [
            ("modified", "change"),
            ("deleted", "gone"),
            ("deleted", "replaced"),
            ("added", "replaced"),
            ("added", "new"),
        ]
    )
    deleted = {c.old.metadata.name: c for c in changes if c.kind == "deleted" and c.old is not None}
    assert deleted["replaced"].old is not None and deleted["replaced"].old.metadata.uid == old_uid
    assert deleted["gone"].new is not None  # the last known state
    assert set(reflector.cache) == {("default", n) for n in ("keep", "change", "replaced", "new")}
