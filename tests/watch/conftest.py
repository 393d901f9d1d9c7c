"""Fixtures of the watch tests: the fake API server and a client to it (tests/fakes/kube.py)."""

from __future__ import annotations

from tests.fakes.kube import api, client, no_leaked_tasks  # noqa: F401  (fixtures)
