"""``podsleuth ui``: the web console over an incident store.

Listens on 127.0.0.1 unless told otherwise: the console shows cluster data (messages, logs) to
whoever reaches it. Writes (silences) need ``--token-file``; without one it is read-only, and
while the file is missing too (``console.write_token``).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path

import click
from aiohttp import web

from podsleuth.cli.incidents import open_existing
from podsleuth.cli.options import chosen_lang, lang_option, store_option
from podsleuth.console.write_token import MIN_TOKEN, REREAD_EVERY, TokenFile
from podsleuth.errors import InputError
from podsleuth.store import Store


def parse_listen(listen: str) -> tuple[str, int]:
    host, sep, port_text = listen.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InputError(f"--listen {listen!r}: expected HOST:PORT with a port 1-65535, e.g. 127.0.0.1:8080")
    return host.strip("[]") or "127.0.0.1", int(port_text)


def read_token(path: str | None, flag: str = "--token-file") -> str | None:
    if not path:
        return None
    try:
        token = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{flag} {path}: {getattr(e, 'strerror', None) or e}") from None
    if len(token) < MIN_TOKEN:
        raise InputError(f"{flag} {path}: the token must be at least {MIN_TOKEN} characters")
    return token


def token_source(path: str | None, flag: str) -> TokenFile | None:
    """The console's write token file. A file that exists is checked now (a short or unreadable
    token fails at start, not at the first write). A missing file in an existing directory is
    the optional Secret nobody has created yet: the console starts read-only, says so once,
    and turns writable when the file appears. A missing directory is a typo."""
    if not path:
        return None
    where = Path(path)
    if where.exists():
        read_token(path, flag)
    elif not where.parent.is_dir():
        raise InputError(f"{flag} {path}: no such directory {where.parent}")
    else:
        click.echo(
            f"podsleuth: the console is read-only until {path} holds a write token "
            f"(at least {MIN_TOKEN} characters; looked at again every {REREAD_EVERY:g} s)",
            err=True,
        )
    return TokenFile(path=where)


@dataclass(frozen=True, kw_only=True)
class ConsoleOptions:
    """Where and how a console is served (``podsleuth ui``, ``watch --ui-port``)."""

    host: str = "127.0.0.1"
    port: int = 8080
    token: str | TokenFile | None = None
    lang: str = "en"
    external_url: str = ""


async def start_console(store: Store, options: ConsoleOptions) -> web.AppRunner:
    """Serve the console until the returned runner is cleaned up."""
    from podsleuth.console.app import ConsoleSettings, create_app

    settings = ConsoleSettings(
        store=store, write_token=options.token, lang=options.lang, external_url=options.external_url
    )
    app = create_app(settings)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, options.host, options.port).start()
    except OSError as e:
        await runner.cleanup()
        where = f"{options.host}:{options.port}"
        raise InputError(f"cannot serve the console on {where}: {e.strerror or e}") from None
    click.echo(f"podsleuth: console on http://{options.host}:{options.port}/", err=True)
    return runner


@click.command(name="ui")
@store_option
@click.option("--listen", default="127.0.0.1:8080", show_default=True, help="HOST:PORT to serve on.")
@click.option(
    "--token-file",
    default=None,
    help="File with the token that allows writes (silences); re-read while the console runs "
    "(a mounted Secret may appear or rotate later). Without it the console is read-only.",
)
@lang_option
def command(store_url: str | None, listen: str, token_file: str | None, lang: str | None) -> None:
    """Serve the web console over an incident store.

    The pages speak --lang, else LANG/LC_ALL's language; a browser may switch (?lang=, a cookie,
    Accept-Language).
    """
    host, port = parse_listen(listen)
    token = token_source(token_file, "--token-file")

    options = ConsoleOptions(host=host, port=port, token=token, lang=chosen_lang(lang))

    async def run(store: Store) -> None:
        runner = await start_console(store, options)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    with contextlib.suppress(KeyboardInterrupt):
        open_existing(store_url)(run)
