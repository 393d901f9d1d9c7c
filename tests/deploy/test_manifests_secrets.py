"""Credentials in a rendered config go to a Secret, never a ConfigMap; and `manifests` says on
stderr what the user must still supply, on the real command's streams."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from podsleuth.cli.manifests import command
from podsleuth.deploy import render
from tests.deploy.conftest import PG, by_kind, one

WEBHOOK_TOKEN = "wh-Tok3n-9f8e7d"
HEADER_VALUE = "Bearer hdr-S3cret-1a2b"
APPRISE_TOKEN = "0123456789abcdef0123456789abcdef"
PG_PASSWORD = "s3cret"
CONFIG = f"""
store: {PG}
alerts:
  receivers:
    - name: hook
      webhook:
        url: "https://hooks.example.com/x?token={WEBHOOK_TOKEN}"
        headers: {{X-Api-Key: "{HEADER_VALUE}"}}
    - name: chat
      apprise: ["dingtalk://{APPRISE_TOKEN}/"]
    - name: events
      kubernetes_events: {{}}
"""
SECRETS = (WEBHOOK_TOKEN, HEADER_VALUE, APPRISE_TOKEN, PG_PASSWORD)


def _run(*args: str) -> Any:
    return CliRunner().invoke(command, list(args))


def _docs(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d is not None]


def test_receiver_credentials_and_the_store_url_only_travel_in_secrets(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(CONFIG)
    result = _run("--config", str(cfg), "--replicas", "2")
    assert result.exit_code == 0, result.output
    objs = _docs(result.stdout)
    assert by_kind(objs, "ConfigMap") == []
    for o in objs:
        text = yaml.safe_dump(o)
        if o["kind"] != "Secret":
            for secret in SECRETS:
                assert secret not in text, (o["kind"], o["metadata"]["name"], secret)
    secrets = {s["metadata"]["name"]: s for s in by_kind(objs, "Secret")}
    config = secrets["podsleuth-config"]["stringData"]["config.yaml"]
    assert WEBHOOK_TOKEN in config and HEADER_VALUE in config and APPRISE_TOKEN in config
    assert "store:" not in config and secrets["podsleuth-store"]["stringData"]["url"] == PG
    watcher = one(objs, "Deployment")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in watcher["volumes"]}
    assert volumes["config"] == {"name": "config", "secret": {"secretName": "podsleuth-config"}}


def test_a_config_without_credentials_stays_a_configmap(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("alerts:\n  receivers:\n    - name: events\n      kubernetes_events: {}\n")
    objs = _docs(_run("--config", str(cfg)).stdout)
    assert "kubernetes_events" in one(objs, "ConfigMap")["data"]["config.yaml"]
    assert [s for s in by_kind(objs, "Secret") if "config.yaml" in s.get("stringData", {})] == []


def test_the_default_install_warns_about_everything_left_to_supply() -> None:
    result = _run()
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("podsleuth: warning: ")]
    text = "\n".join(warnings)
    assert len(warnings) == 4, text
    assert "placeholder" in text and "--image" in text
    assert "create secret generic podsleuth-ui-token" in text
    assert "no alert receiver" in text
    assert "SQLite" in text and "postgresql://" in text
    assert "podsleuth-node-token" not in text, "the agent takes the watcher's ServiceAccount token"
    assert "warning" not in result.stdout
    assert result.stdout == render.render(render.options_from(warn=None))


def test_a_complete_install_warns_about_nothing(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(CONFIG)
    result = _run("--config", str(cfg), "--image", "registry.example.com/podsleuth:1", "--no-node-agent",
                  "--no-console-writes")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


def test_the_regeneration_entry_point_is_quiet() -> None:
    said: list[str] = []
    render.options_from(warn=said.append)
    assert len(said) == 4
    complete = render.options_from(
        image="r.example/p:1", store_url=PG, node_agent=False, console_writes=False, warn=None
    )
    assert render.warnings(complete) == [render.warnings(render.options_from(warn=None))[1]]


def test_the_console_takes_its_write_token_from_an_optional_secret() -> None:
    """The watcher starts without the Secret (optional volume) and is pointed at the file it
    would hold; --no-console-writes renders neither, and says nothing about it."""
    watcher = one(_docs(_run().stdout), "Deployment")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in watcher["volumes"]}
    assert volumes["ui-token"]["secret"] == {"secretName": "podsleuth-ui-token", "optional": True}
    [container] = watcher["containers"]
    mount = next(m for m in container["volumeMounts"] if m["name"] == "ui-token")
    assert mount["readOnly"] is True
    args = container["args"]
    assert args[args.index("--ui-token-file") + 1] == mount["mountPath"] + "/token"
    off = _run("--no-console-writes")
    watcher = one(_docs(off.stdout), "Deployment")["spec"]["template"]["spec"]
    assert "ui-token" not in {v["name"] for v in watcher["volumes"]}
    assert "--ui-token-file" not in watcher["containers"][0]["args"]
    assert "podsleuth-ui-token" not in off.stderr
