from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from podsleuth.store.sqlite import SqliteStore
from tests.alert.helpers import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "podsleuth.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[SqliteStore]:
    s = await SqliteStore.open(db_path)
    yield s
    await s.aclose()
