"""Fixtures of the HA tests: a fake API server and clients to it, a PostgreSQL server."""

from __future__ import annotations

from tests.fakes.kube import api, client, no_leaked_tasks  # noqa: F401  (fixtures)
from tests.store.postgres_server import postgres_server  # noqa: F401  (fixture)

LEASES = "coordination.k8s.io/leases"
