"""deploy/podsleuth.yaml is what kubectl/kustomize users apply: it must be today's render."""

from __future__ import annotations

from pathlib import Path

import yaml

from podsleuth.deploy import render

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def test_committed_yaml_is_the_default_render() -> None:
    committed = (DEPLOY / "podsleuth.yaml").read_text(encoding="utf-8")
    fresh = render.render(render.options_from())
    assert committed == fresh, (
        f"deploy/podsleuth.yaml is out of date; regenerate it with `{render.REGENERATE}` "
        "(or `podsleuth manifests > deploy/podsleuth.yaml`) and commit it"
    )


def test_render_is_deterministic() -> None:
    assert render.render(render.options_from()) == render.render(render.options_from())


def test_kustomization_lists_existing_files() -> None:
    kust = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text(encoding="utf-8"))
    assert kust["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert kust["kind"] == "Kustomization"
    assert kust["resources"] == ["podsleuth.yaml"]
    for name in kust["resources"]:
        assert (DEPLOY / name).is_file()
