"""Shared test configuration.

Tests that need the real kernel (mounts, FUSE, cgroups, runc) are marked ``root``: the one way
to say it; they are skipped, with the reason, unless the suite runs as root on Linux (CI does).
Everything else runs anywhere.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BRIEF = REPO.parent / "shared" / "brief"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.geteuid() == 0 and sys.platform.startswith("linux"):
        return
    skip = pytest.mark.skip(reason="needs root on Linux (real mounts, FUSE, cgroups, runc)")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test (and the podsleuth processes it starts) gets its own default store location:
    the user's real ~/.local/share/podsleuth must neither leak into tests nor be written by them."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))
