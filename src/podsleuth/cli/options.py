"""Options shared by several subcommands, declared once (CONTRACT.md "Common options")."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from podsleuth.locale import LOCALES, resolve_lang

if TYPE_CHECKING:  # not imported at run time: `node check` must start without pydantic
    from podsleuth.config import Settings

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


def lang_option(f: F) -> F:
    """``--lang en|zh``: the language of what a person reads (default: the config's
    ``alerts.locale``, else ``LANG``/``LC_ALL``: zh_CN.UTF-8 gives zh)."""
    return click.option(
        "--lang",
        type=click.Choice(list(LOCALES)),
        default=None,
        help="Language of the texts (default: alerts.locale, else LANG/LC_ALL; zh_* gives zh).",
    )(f)


def chosen_lang(option: str | None, configured: str | None = None) -> str:
    """``--lang``, else the configured locale, else the environment's (``podsleuth.locale``)."""
    return resolve_lang(option, configured, os.environ)


def configured_locale(settings: Settings) -> str | None:
    """``alerts.locale`` when the config sets it; None lets ``LANG`` decide (the default "en"
    would otherwise always win over the environment)."""
    return settings.alerts.locale if "locale" in settings.alerts.model_fields_set else None


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
