"""The ``podsleuth`` command line: one module per subcommand, wired here.

Every error podsleuth raises on purpose becomes one line on stderr and an exit code (2 for bad
usage or input); so does an error of the environment that escaped the command's own checks (an
``OSError`` or a SQLite error: a full disk, a read-only store, a port in use), exit 2 as an
unusable resource. Any other unexpected exception still prints a traceback, because that is a bug.

Subcommands are imported when used, not at start: ``podsleuth node check`` on a node must not
pay for importing the watcher, the knowledge base and the chat libraries (a second of start-up
against a one-second budget).
"""

from __future__ import annotations

import importlib
import logging
import sqlite3
import sys
from collections.abc import Sequence
from typing import Any

import click

from podsleuth import __version__
from podsleuth.errors import PodsleuthError, UsageError

SUBCOMMANDS = {
    "watch": "podsleuth.cli.watch:command",
    "diagnose": "podsleuth.cli.diagnose:group",
    "node": "podsleuth.cli.node:group",
    "lab": "podsleuth.cli.lab:group",
    "manifests": "podsleuth.cli.manifests:command",
    "silence": "podsleuth.cli.silence:group",
    "config": "podsleuth.cli.config_cmd:group",
    "incidents": "podsleuth.cli.incidents:group",
    "ui": "podsleuth.cli.ui:command",
    "completion": "podsleuth.cli.completion:command",
}

DOCS_URL = f"https://github.com/podsleuth/podsleuth/blob/v{__version__}/docs/"
"""The documentation of this version (pyproject's ``Documentation`` URL, at the release tag)."""
DOCS = {
    "watch": ("watching.md", "alerting.md", "ha.md", "configuration.md"),
    "diagnose": ("diagnosis.md", "signatures.md"),
    "node": ("node-agent.md",),
    "lab": ("lab.md",),
    "manifests": ("deploy.md",),
    "silence": ("alerting.md",),
    "config": ("configuration.md",),
    "incidents": ("contract.md", "console.md"),
    "ui": ("console.md",),
    "completion": ("contract.md",),
}
"""The pages each command's ``--help`` ends with: what the help is too short to say."""


def docs_epilog(*pages: str) -> str:
    """One URL per line (click's ``\\b`` keeps them from being re-wrapped into one paragraph)."""
    return "\b\nDocs:\n" + "\n".join(f"  {DOCS_URL}{page}" for page in pages)


def _first_podsleuth_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error to report from a task group: a PodsleuthError if one of the tasks raised one
    (it has the one-line message), else the group itself (a bug: traceback)."""
    for leaf in _leaves(group):
        if isinstance(leaf, PodsleuthError | KeyboardInterrupt | OSError | sqlite3.Error):
            return leaf
    return group


def _leaves(e: BaseException) -> list[BaseException]:
    if isinstance(e, BaseExceptionGroup):
        return [leaf for sub in e.exceptions for leaf in _leaves(sub)]
    return [e]


def environment_error(e: BaseException) -> str:
    """One line for an error of the environment: ``OSError`` gives its strerror and file name."""
    if isinstance(e, OSError) and e.strerror:
        where = f"{e.filename}: " if e.filename else ""
        return f"{where}{e.strerror}"
    text = " ".join(str(e).split()) or type(e).__name__
    return f"{type(e).__name__}: {text}"[:500]


_NO_ARGS_IS_HELP: Any = getattr(click.exceptions, "NoArgsIsHelpError", ())


class _Group(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = SUBCOMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)
        if command.epilog is None:
            command.epilog = docs_epilog(*DOCS[cmd_name])
        return command

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **kwargs: Any,
    ) -> Any:
        """Click's own usage errors as one line too ("podsleuth: error: ...", exit 2) instead of
        usage + hint + message: scripts and the contract expect one line naming the problem."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **kwargs)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **kwargs)
        except _NO_ARGS_IS_HELP as e:  # bare ``podsleuth``: the help text is the answer
            e.show()
            sys.exit(e.exit_code)
        except click.ClickException as e:
            hint = f" (see {e.ctx.command_path} --help)" if isinstance(e, click.UsageError) and e.ctx else ""
            message = " ".join(e.format_message().split())
            click.echo(f"podsleuth: error: {message}{hint}", err=True)
            sys.exit(e.exit_code)
        except click.Abort:
            click.echo("podsleuth: interrupted", err=True)
            sys.exit(130)
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx: click.Context) -> object:
        try:
            try:
                return super().invoke(ctx)
            except BaseExceptionGroup as group:  # from an asyncio.TaskGroup
                error = _first_podsleuth_error(group)
                if error is group:
                    raise
                raise error from group
        except UsageError as e:
            click.echo(f"podsleuth: error: {e}", err=True)
            ctx.exit(e.exit_code)
        except PodsleuthError as e:
            click.echo(f"podsleuth: error: {e}", err=True)
            ctx.exit(getattr(e, "exit_code", 1))
        except (OSError, sqlite3.Error) as e:
            if isinstance(e, BrokenPipeError):
                raise  # the reader went away (``| head``): click exits quietly
            click.echo(f"podsleuth: error: {environment_error(e)}", err=True)
            ctx.exit(2)
        except KeyboardInterrupt:
            click.echo("podsleuth: interrupted", err=True)
            ctx.exit(130)


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=docs_epilog("contract.md", "architecture.md"),
)
@click.version_option(__version__, "-V", "--version", prog_name="podsleuth")
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


def main() -> None:
    cli(prog_name="podsleuth")
