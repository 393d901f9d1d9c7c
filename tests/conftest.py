"""Shared test configuration.

Tests that need the real kernel (mounts, FUSE, cgroups) are marked ``root`` and skip with a
reason elsewhere; everything else runs anywhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BRIEF = REPO.parent / "shared" / "brief"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root on a Linux VM (real mounts, FUSE, cgroups)")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test (and the podsleuth processes it starts) gets its own default store location:
    the user's real ~/.local/share/podsleuth must neither leak into tests nor be written by them."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))
