"""``podsleuth manifests``: the variants users run, and one-line errors with exit code 2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from podsleuth.cli.manifests import command
from podsleuth.deploy import render
from tests.deploy.conftest import PG, by_kind, one


def _run(*args: str) -> Any:
    return CliRunner().invoke(command, list(args))


def _docs(output: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(output) if d is not None]


def test_default_output_is_the_committed_render() -> None:
    result = _run()
    assert result.exit_code == 0, result.output
    assert result.stdout == render.render(render.options_from())


def test_ha_variant() -> None:
    result = _run("--replicas", "3", "--store", PG)
    assert result.exit_code == 0, result.output
    objs = _docs(result.stdout)
    assert one(objs, "Deployment")["spec"]["replicas"] == 3
    assert one(objs, "Secret")["stringData"]["url"] == PG


@pytest.mark.parametrize("store", [None, "sqlite:///var/lib/podsleuth/p.db"])
def test_ha_without_shared_store_is_refused(store: str | None) -> None:
    args = ["--replicas", "2"] + (["--store", store] if store else [])
    result = _run(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "--store postgresql://" in result.stderr


def test_no_node_agent_and_other_namespace() -> None:
    result = _run("--no-node-agent", "--namespace", "other")
    assert result.exit_code == 0, result.output
    objs = _docs(result.stdout)
    assert not by_kind(objs, "DaemonSet")
    assert one(objs, "Namespace")["metadata"]["name"] == "other"


def test_custom_config_lands_in_the_configmap_validated_and_without_its_store(tmp_path: Path) -> None:
    cfg = tmp_path / "podsleuth.yaml"
    cfg.write_text(
        "watch:\n  exclude_namespaces: [kube-system]\n  thresholds: {stuck_creating: 3m}\n"
        f"store: \"{PG}\"\n"
        "alerts:\n  receivers:\n    - name: cluster-events\n      kubernetes_events: {}\n",
        encoding="utf-8",
    )
    result = _run("--config", str(cfg), "--replicas", "2")
    assert result.exit_code == 0, result.output
    objs = _docs(result.stdout)
    config = yaml.safe_load(one(objs, "ConfigMap")["data"]["config.yaml"])
    assert config["watch"]["exclude_namespaces"] == ["kube-system"]
    assert config["watch"]["thresholds"] == {"stuck_creating": "3m"}
    assert config["alerts"]["receivers"][0]["name"] == "cluster-events"
    assert "store" not in config  # moved to the Secret
    assert one(objs, "Secret")["stringData"]["url"] == PG
    default_hash = one(_docs(_run().stdout), "Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert one(objs, "Deployment")["spec"]["template"]["metadata"]["annotations"] != default_hash


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("watch:\n  thresholdz: {}\n", "unknown key 'watch.thresholdz'"),
        ("alerts:\n  locale: fr\n", "alerts.locale"),
        ("watch: [\n", "invalid YAML"),
    ],
)
def test_bad_config_is_exit_2_one_line(tmp_path: Path, content: str, expected: str) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(content, encoding="utf-8")
    result = _run("--config", str(cfg))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("podsleuth: error: ") and result.stderr.count("\n") == 1
    assert expected in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["--config", "/nonexistent/podsleuth.yaml"],
        ["--namespace", "Bad_NS"],
        ["--kubelet-dir", "relative/kubelet"],
        ["--store", "mysql://x"],
        ["--store", "sqlite:///./rel.db"],
        ["--replicas", "0"],
    ],
)
def test_bad_arguments_are_exit_2(args: list[str]) -> None:
    result = _run(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_monitoring_objects_only_on_request() -> None:
    objs = _docs(_run("--service-monitor", "--prometheus-rule", "-n", "mon").stdout)
    assert len(by_kind(objs, "ServiceMonitor")) == 2
    rule = one(objs, "PrometheusRule")
    assert 'namespace="mon"' in rule["spec"]["groups"][0]["rules"][0]["expr"]
