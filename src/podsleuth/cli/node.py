"""``podsleuth node check`` and ``podsleuth node serve``: the node agent's command line."""

from __future__ import annotations

import logging
import os
import sys

import click

from podsleuth.cli.options import chosen_lang, lang_option, output_option
from podsleuth.durations import parse_duration
from podsleuth.errors import InputError, ResourceError
from podsleuth.jsontext import clean, dumps
from podsleuth.node.layout import DEFAULT_KUBELET_DIR
from podsleuth.node.tokenreview import SA_CA_FILE, SA_TOKEN_FILE, TokenReviewConfig, in_cluster_api_server

log = logging.getLogger(__name__)


def _duration(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from e


def _check_options(f: click.decorators.FC) -> click.decorators.FC:
    for deco in reversed(
        [
            click.option(
                "--kubelet-dir",
                "kubelet_dirs",
                multiple=True,
                default=(DEFAULT_KUBELET_DIR,),
                show_default=True,
                help="kubelet --root-dir; repeat for several.",
            ),
            click.option(
                "--proc", default="/proc", show_default=True, help="procfs to read (hostPID: /proc)."
            ),
            click.option("--sys", "sys_dir", default="/sys", show_default=True, help="sysfs to read."),
            click.option(
                "--mount-pid",
                default="1",
                show_default=True,
                help="whose mountinfo to read: 1 = the host's under hostPID, self = ours.",
            ),
            click.option(
                "--kernel-log",
                default=None,
                metavar="FILE|-",
                help="read kernel messages from FILE (- = stdin) instead of /dev/kmsg/journal/dmesg.",
            ),
            click.option(
                "--since",
                default=None,
                callback=_duration,
                metavar="DURATION",
                help="only kernel events newer than this (e.g. 30m, 2h).",
            ),
            click.option(
                "--probe-timeout",
                default="2s",
                callback=_duration,
                show_default=True,
                metavar="DURATION",
                help="a probe silent this long reports mount-hung.",
            ),
            click.option(
                "--bind-test",
                is_flag=True,
                help="also bind-mount each target in a private mount namespace (needs root).",
            ),
        ]
    ):
        f = deco(f)
    return f


def _options(
    kubelet_dirs: tuple[str, ...],
    proc: str,
    sys_dir: str,
    mount_pid: str,
    kernel_log: str | None,
    since: float | None,
    probe_timeout: float | None,
    bind_test: bool,
) -> object:
    from podsleuth.node.check import CheckOptions

    lines: tuple[str, ...] | None = None
    if not os.path.isdir(proc):
        raise ResourceError(f"--proc {proc}: no such directory")
    if mount_pid != "self" and not mount_pid.isdigit():
        raise InputError(f"--mount-pid {mount_pid!r}: expected a pid or 'self'")
    if kernel_log == "-":
        lines = tuple(sys.stdin.read().splitlines())
        kernel_log = None
    elif kernel_log is not None and (not os.path.exists(kernel_log) or os.path.isdir(kernel_log)):
        raise InputError(f"--kernel-log {kernel_log}: no such file")
    if probe_timeout is not None and probe_timeout <= 0:
        raise InputError("--probe-timeout must be positive")
    return CheckOptions(
        kubelet_dirs=tuple(kubelet_dirs),
        proc=proc,
        sys=sys_dir,
        mount_pid=mount_pid,
        kernel_log=kernel_log,
        kernel_lines=lines,
        since=since,
        probe_timeout=probe_timeout or 2.0,
        bind_test=bind_test,
    )


MIN_TOKEN_BYTES = 16
"""A shorter bearer token is guessable, and an empty one makes an agent that rejects everyone."""


def _check_token_file(path: str) -> None:
    """Refuse at start a token file that could never authenticate anyone, or anyone at all."""
    try:
        with open(path, "rb") as f:
            token = f.read(65536).strip()
    except FileNotFoundError:
        raise InputError(f"--token-file {path}: no such file") from None
    except OSError as e:
        raise ResourceError(f"--token-file {path}: {e.strerror or e}") from None
    if not token:
        raise ResourceError(f"--token-file {path}: the file is empty (no token)")
    if len(token) < MIN_TOKEN_BYTES:
        raise ResourceError(
            f"--token-file {path}: the token has {len(token)} bytes; at least {MIN_TOKEN_BYTES} are needed"
        )


def _token_review(
    enabled: bool, allow_users: tuple[str, ...], api_server: str | None, api_token_file: str, api_ca_file: str
) -> TokenReviewConfig | None:
    """Checked at start, not per request: a DaemonSet that cannot work should crash-loop with one
    clear line rather than answer 503 to every call."""
    if not enabled:
        if allow_users:
            raise InputError("--allow-user only makes sense with --token-review")
        return None
    users = frozenset(u.strip() for u in allow_users if u.strip())
    if not users:
        raise InputError("--token-review needs at least one --allow-user (e.g. "
                         "system:serviceaccount:podsleuth:podsleuth-watcher)")
    server = api_server or in_cluster_api_server()
    if not server:
        raise InputError("--token-review: not in a cluster (KUBERNETES_SERVICE_HOST/PORT unset); "
                         "pass --api-server URL")
    if not server.startswith(("https://", "http://")):
        raise InputError(f"--api-server {server!r}: expected an http(s):// URL")
    if api_token_file and not os.path.isfile(api_token_file):
        raise InputError(
            f"--api-token-file {api_token_file}: no such file (automountServiceAccountToken off?)")
    if server.startswith("https://") and api_ca_file and not os.path.isfile(api_ca_file):
        raise InputError(f"--api-ca-file {api_ca_file}: no such file")
    return TokenReviewConfig(
        allowed_users=users,
        api_server=server.rstrip("/"),
        api_token_file=api_token_file or None,
        api_ca_file=api_ca_file or None,
    )


@click.group(name="node")
def group() -> None:
    """Node-local checks: mounts, FUSE daemons, kernel OOM kills."""


@group.command("check")
@_check_options
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning"]),
    default=None,
    help="exit 1 when a finding at or above this severity exists.",
)
@output_option
@lang_option
def check(
    kubelet_dirs: tuple[str, ...],
    proc: str,
    sys_dir: str,
    mount_pid: str,
    kernel_log: str | None,
    since: float | None,
    probe_timeout: float | None,
    bind_test: bool,
    fail_on: str | None,
    output: str,
    lang: str | None,
) -> None:
    """Scan this node once: stale, dead or hung pod mounts, FUSE daemons, kernel OOM kills."""
    from podsleuth.node.check import CheckOptions, check_node
    from podsleuth.node.findings import at_or_above, render_text

    opts = _options(kubelet_dirs, proc, sys_dir, mount_pid, kernel_log, since, probe_timeout, bind_test)
    assert isinstance(opts, CheckOptions)
    report = check_node(opts)
    for f in report.findings:
        if f.kind == "kubelet-dir-missing":
            log.warning("%s", f.detail)
    if output == "json":
        for f in report.findings:
            click.echo(dumps(f.to_dict()))  # the same escaping of non-UTF-8 paths as node serve
    else:
        text = render_text(report.findings, summary=report.summary, lang=chosen_lang(lang))
        click.echo(clean(text), nl=False)
    if fail_on and at_or_above(report.findings, fail_on):
        sys.exit(1)


@group.command("serve")
@_check_options
@click.option("--listen", default="0.0.0.0:9808", show_default=True, help="HOST:PORT to listen on.")
@click.option(
    "--token-file",
    default=None,
    type=click.Path(dir_okay=False),
    help="file holding the bearer token clients must send (re-read on change).",
)
@click.option(
    "--token-review",
    is_flag=True,
    help="also accept ServiceAccount tokens the API server authenticates (TokenReview) "
    "as one of the --allow-user names.",
)
@click.option(
    "--allow-user",
    "allow_users",
    multiple=True,
    metavar="NAME",
    help="with --token-review: a username to serve, e.g. system:serviceaccount:NS:SA; repeatable.",
)
@click.option(
    "--api-server",
    default=None,
    metavar="URL",
    help="API server for TokenReviews [default: in-cluster, https://$KUBERNETES_SERVICE_HOST:PORT].",
)
@click.option(
    "--api-token-file",
    default=SA_TOKEN_FILE,
    show_default=True,
    help="the agent's own bearer token for the API server (re-read per review); '' = none.",
)
@click.option(
    "--api-ca-file",
    default=SA_CA_FILE,
    show_default=True,
    help="CA bundle to verify an https API server; '' = the system trust store.",
)
@click.option("--insecure-no-auth", is_flag=True, help="serve without authentication (tests, local only).")
@click.option(
    "--max-probes",
    default=2,
    show_default=True,
    type=click.IntRange(1, 64),
    help="concurrent scans/probes; more requests get 503 at once.",
)
def serve(
    kubelet_dirs: tuple[str, ...],
    proc: str,
    sys_dir: str,
    mount_pid: str,
    kernel_log: str | None,
    since: float | None,
    probe_timeout: float | None,
    bind_test: bool,
    listen: str,
    token_file: str | None,
    token_review: bool,
    allow_users: tuple[str, ...],
    api_server: str | None,
    api_token_file: str,
    api_ca_file: str,
    insecure_no_auth: bool,
    max_probes: int,
) -> None:
    """Serve the node checks over an authenticated, read-only HTTP API (the DaemonSet agent)."""
    from podsleuth.node.check import CheckOptions
    from podsleuth.node.server import ServerConfig, run

    if token_file is None and not token_review and not insecure_no_auth:
        raise InputError("--token-file or --token-review is required (or pass --insecure-no-auth explicitly)")
    review = _token_review(token_review, allow_users, api_server, api_token_file, api_ca_file)
    if token_file is not None:
        _check_token_file(token_file)
    if kernel_log == "-":
        raise InputError("--kernel-log - is not supported by serve (stdin is read once)")
    host, _, port = listen.rpartition(":")
    if not port.isdigit() or not host:
        raise InputError(f"--listen {listen!r}: expected HOST:PORT")
    if not 0 < int(port) <= 65535:
        raise InputError(f"--listen {listen!r}: port must be 1-65535")
    opts = _options(kubelet_dirs, proc, sys_dir, mount_pid, kernel_log, since, probe_timeout, bind_test)
    assert isinstance(opts, CheckOptions)
    run(
        ServerConfig(
            options=opts,
            host=host.strip("[]"),
            port=int(port),
            token_file=token_file,
            token_review=review,
            max_concurrent=max_probes,
        )
    )
