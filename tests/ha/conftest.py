"""Fixtures of the HA tests: a fake API server and clients to it, a PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.kube import api, client, no_leaked_tasks  # noqa: F401  (fixtures)
from tests.store.postgres_server import PostgresServer, running_server, skip_reason

LEASES = "coordination.k8s.io/leases"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    reason = skip_reason()
    if reason is not None:
        pytest.skip(reason)
    with running_server() as server:
        yield server
