"""deploy/ is a kustomize base that `kubectl kustomize` renders to the committed manifests, and
the overlay docs/deploy.md shows (own image, receivers in a generated Secret) renders too.

kubectl is a real dependency here (.ci/run installs Debian's kubernetes-client when missing):
no skip, a missing binary fails the test with the way to get it.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from podsleuth.config import parse_settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOC = (ROOT / "docs/deploy.md").read_text()
BLOCK = re.compile(r"`my-overlay/([\w.-]+)`[^`]*?\n\n   ```yaml\n(.*?)\n   ```", re.S)
IMAGE = "registry.example.com/platform/podsleuth"


def kustomize(directory: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is missing: apt-get install -y kubernetes-client (Debian's kubectl)"
    out = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=120,
        env={**os.environ, "HOME": str(directory)},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def key(o: dict[str, Any]) -> tuple[str, str]:
    return (o["kind"], o["metadata"]["name"])


def test_the_base_renders_to_the_committed_manifests() -> None:
    committed = [d for d in yaml.safe_load_all((DEPLOY / "podsleuth.yaml").read_text()) if d]
    rendered = kustomize(DEPLOY)
    assert sorted(map(key, rendered)) == sorted(map(key, committed))
    assert {key(o): o for o in rendered} == {key(o): o for o in committed}


def _overlay(tmp_path: Path) -> Path:
    files = {name: re.sub(r"(?m)^   ", "", body) for name, body in BLOCK.findall(DOC)}
    assert set(files) == {"kustomization.yaml", "config-from-secret.yaml", "config.yaml"}, set(files)
    overlay = tmp_path / "my-overlay"
    overlay.mkdir()
    base = os.path.relpath(DEPLOY, overlay)
    files["kustomization.yaml"] = files["kustomization.yaml"].replace("../podsleuth/deploy", base)
    assert base in files["kustomization.yaml"]
    for name, body in files.items():
        (overlay / name).write_text(body + "\n")
    return overlay


def test_the_documented_overlay_sets_the_image_and_keeps_receivers_in_a_secret(tmp_path: Path) -> None:
    objs = kustomize(_overlay(tmp_path))
    workloads = [o for o in objs if o["kind"] in ("Deployment", "DaemonSet")]
    assert len(workloads) == 2
    for w in workloads:
        for c in w["spec"]["template"]["spec"]["containers"]:
            assert c["image"].startswith(IMAGE + ":"), c["image"]
    [secret] = [o for o in objs if o["kind"] == "Secret" and "config.yaml" in o.get("data", {})]
    assert secret["metadata"]["namespace"] == "podsleuth"
    config = base64.b64decode(secret["data"]["config.yaml"]).decode()
    settings = parse_settings(config, source="overlay config.yaml")
    assert [r.name for r in settings.alerts.receivers] == ["team-chat"]
    [watcher] = [o for o in workloads if o["kind"] == "Deployment"]
    volumes = {v["name"]: v for v in watcher["spec"]["template"]["spec"]["volumes"]}
    assert volumes["config"] == {"name": "config", "secret": {"secretName": secret["metadata"]["name"]}}
    for cm in (o for o in objs if o["kind"] == "ConfigMap"):
        assert "hooks.example.com" not in yaml.safe_dump(cm)
