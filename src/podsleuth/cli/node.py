"""``podsleuth node``: placeholder until the node agent work lands."""

from __future__ import annotations

import click


@click.group(name="node")
def group() -> None:
    """Node-local checks: mounts, FUSE daemons, kernel OOM kills."""
