"""``podsleuth diagnose``: placeholder until the signatures work lands."""

from __future__ import annotations

import click


@click.group(name="diagnose")
def group() -> None:
    """Classify error texts and diagnose pods."""
