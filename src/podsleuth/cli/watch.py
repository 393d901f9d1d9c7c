"""``podsleuth watch``: placeholder until the pipeline lands."""

from __future__ import annotations

import click


@click.command(name="watch")
def command() -> None:
    """List+watch pods, events and nodes; detect, diagnose and report incidents."""
