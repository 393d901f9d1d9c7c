"""Leader election settings of ``watch`` and a replica's ``Term``: the Lease and the store's fence.

Split from the leadership unit (``podsleuth.cli.leadership``) because the notifier needs the
fence check before leadership exists (it is handed to the notifier's constructor, and
leadership starts and stops that notifier): the ``Term`` is the one object both depend on, so
neither waits for the other to be built. The defaults of ``--leader-elect`` and ``--identity``
live here too, next to the settings they fill in.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from podsleuth.kube.leader import LeaderElector, LeaseApi
from podsleuth.store.base import Store

log = logging.getLogger("podsleuth.cli.watch_job")
"""The logger the watcher's leadership messages always came from (operators grep for it)."""

SERVICE_ACCOUNT_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


def in_cluster(
    kubeconfig: str | None, *, env: dict[str, str] | None = None, token: Path = SERVICE_ACCOUNT_TOKEN
) -> bool:
    """Running in a pod with in-cluster config (no kubeconfig given or in $KUBECONFIG)."""
    env = dict(os.environ) if env is None else env
    return (
        kubeconfig is None
        and not env.get("KUBECONFIG")
        and bool(env.get("KUBERNETES_SERVICE_HOST"))
        and token.exists()
    )


def default_identity(*, env: dict[str, str] | None = None) -> str:
    """$POD_NAME in a pod; elsewhere hostname and pid, so two watchers on one host differ."""
    env = dict(os.environ) if env is None else env
    return env.get("POD_NAME") or f"{socket.gethostname()}_{os.getpid()}"


@dataclass(frozen=True)
class Election:
    """Leader election settings of one ``watch``: the Lease to compete for and its timings."""

    namespace: str
    name: str
    identity: str
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def elector(self, api: LeaseApi) -> LeaderElector:
        """An elector for this Lease (its callbacks are the leadership unit's to set)."""
        return LeaderElector(
            api,
            namespace=self.namespace,
            name=self.name,
            identity=self.identity,
            lease_duration=self.lease_duration,
            renew_deadline=self.renew_deadline,
            retry_period=self.retry_period,
        )


class Term:
    """This replica's claim to publish: its Lease (``elector``; None without election, when it
    always leads) and the fence that names it the leader in the shared ``store``."""

    def __init__(self, store: Store, elector: LeaderElector | None = None) -> None:
        self.store = store
        self.elector = elector

    @property
    def leading(self) -> bool:
        """Holds the Lease right now (by the elector's clock), or runs without election."""
        return self.elector is None or self.elector.is_leader

    async def holds(self) -> bool:
        """Asked before every sink call: still the leader, by the Lease and by the store."""
        elector = self.elector
        if elector is None:
            return True
        if not elector.is_leader:
            return False
        return await self.store.holds_fence(holder=elector.identity, generation=elector.generation)

    async def take_over(self) -> bool:
        """Name this replica the leader in the store (fencing a deposed one off the outbox) and
        adopt what a dead or deposed predecessor handed out and never finished. False: the store
        names a newer leader; deliver nothing until the Lease says who leads."""
        elector = self.elector
        if elector is not None:
            generation = elector.generation
            if not await self.store.fence(holder=elector.identity, generation=generation, at=time.time()):
                log.warning(
                    "leader election: the store names a newer leader than generation %d; not "
                    "delivering until the Lease says who leads",
                    generation,
                )
                return False
        adopted = await self.store.adopt_deliveries()
        if adopted:
            log.warning(
                "took over %d delivery(ies) a previous leader left unfinished; sending them again "
                "marked as possible duplicates",
                adopted,
            )
        return True
