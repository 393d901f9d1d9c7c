"""``podsleuth config show``: the effective config, secrets masked, safe to paste in a ticket."""

from __future__ import annotations

import json
from typing import Any

import click
import yaml

from podsleuth.cli.options import config_option
from podsleuth.config import load_settings
from podsleuth.redact import redact, redact_headers


def redacted_settings(data: dict[str, Any]) -> dict[str, Any]:
    """Mask URLs and credential-like header values in a ``Settings.model_dump`` tree."""
    alerts = data.get("alerts") or {}
    for receiver in alerts.get("receivers") or []:
        webhook = receiver.get("webhook")
        if webhook:
            webhook["url"] = redact(webhook["url"])
            webhook["headers"] = redact_headers(webhook.get("headers") or {})
        if receiver.get("alertmanager"):
            receiver["alertmanager"]["url"] = redact(receiver["alertmanager"]["url"])
        if receiver.get("apprise"):
            receiver["apprise"] = [redact(u) for u in receiver["apprise"]]
    if isinstance(data.get("store"), str):
        data["store"] = redact(data["store"])
    agents = data.get("node_agents") or {}
    if agents.get("urls"):
        agents["urls"] = {k: redact(v) for k, v in agents["urls"].items()}
    return data


@click.group(name="config")
def group() -> None:
    """Inspect the configuration."""


@group.command()
@config_option
@click.option("-o", "--output", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
def show(config_path: str | None, output: str) -> None:
    """Print the effective config (defaults filled in) with secrets masked as ***."""
    settings = load_settings(config_path)
    data = redacted_settings(settings.model_dump(mode="json", by_alias=True))
    if output == "json":
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        click.echo(yaml.safe_dump(data, allow_unicode=True, sort_keys=False).rstrip())
