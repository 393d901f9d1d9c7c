"""``podsleuth completion bash|zsh|fish``: print the shell's completion script.

Click generates it; the script calls back into ``podsleuth`` with ``_PODSLEUTH_COMPLETE`` set,
so completion always matches the installed version. Install, e.g. for bash:
``podsleuth completion bash > /etc/bash_completion.d/podsleuth``.
"""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class


@click.command(name="completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
@click.pass_context
def command(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL (bash, zsh or fish)."""
    root = ctx.find_root().command
    completion = get_completion_class(shell)
    assert completion is not None  # the Choice admits only shells click knows
    click.echo(completion(root, {}, "podsleuth", "_PODSLEUTH_COMPLETE").source())
