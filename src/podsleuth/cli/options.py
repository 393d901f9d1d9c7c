"""Options shared by several subcommands, declared once (CONTRACT.md "Common options")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def output_option(f: F) -> F:
    return click.option(
        "-o",
        "--output",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="text: readable report; json: one JSON object per line on stdout (logs go to stderr).",
    )(f)


def config_option(f: F) -> F:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        default=None,
        help="YAML config file (see docs/configuration.md); every key optional.",
    )(f)


def cluster_options(f: F) -> F:
    """--kubeconfig, --context, --namespace: how to reach the cluster and what to look at."""
    f = click.option(
        "-n",
        "--namespace",
        "namespaces",
        multiple=True,
        help="Namespace to watch; repeat for several. Default: all namespaces.",
    )(f)
    f = click.option("--context", default=None, help="kubeconfig context (default: the current one).")(f)
    f = click.option(
        "--kubeconfig",
        type=click.Path(dir_okay=False),
        default=None,
        envvar="KUBECONFIG",
        help="Path to the kubeconfig (default: $KUBECONFIG, ~/.kube/config, then in-cluster config).",
    )(f)
    return f


def store_option(f: F) -> F:
    return click.option(
        "--store",
        "store_url",
        default=None,
        help="Incident store URL (default: a SQLite file under the user's data dir).",
    )(f)
