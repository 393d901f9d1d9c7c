"""The ``podsleuth`` command line: one module per subcommand, wired here.

Every error podsleuth raises on purpose becomes one line on stderr and an exit code (2 for bad
usage or input); an unexpected exception still prints a traceback, because that is a bug.
"""

from __future__ import annotations

import logging
import sys

import click

from podsleuth import __version__
from podsleuth.cli import config_cmd, diagnose, lab, manifests, node, silence, watch
from podsleuth.errors import PodsleuthError, UsageError


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except UsageError as e:
            click.echo(f"podsleuth: error: {e}", err=True)
            ctx.exit(e.exit_code)
        except PodsleuthError as e:
            click.echo(f"podsleuth: error: {e}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("podsleuth: interrupted", err=True)
            ctx.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="podsleuth")
@click.option("-v", "--verbose", count=True, help="More log detail on stderr (-v info, -vv debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr.")
def cli(verbose: int, quiet: bool) -> None:
    """Watch Kubernetes pods and nodes, alert without noise, find the root cause."""
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


cli.add_command(watch.command)
cli.add_command(diagnose.group)
cli.add_command(node.group)
cli.add_command(lab.group)
cli.add_command(manifests.command)
cli.add_command(silence.group)
cli.add_command(config_cmd.group)


def main() -> None:
    cli(prog_name="podsleuth")
