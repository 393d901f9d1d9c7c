"""Routes: globs and regexes on namespace, labels, category, severity, node, signature;
first match wins unless continue; a catch-all; a default receiver when nothing matches."""

from __future__ import annotations

import pytest

from podsleuth.alert.model import decode_change
from podsleuth.alert.routing import Router
from podsleuth.config import AlertSettings, Receiver, Route, parse_settings
from podsleuth.errors import ConfigError
from tests.alert.helpers import change

CONFIG = """
alerts:
  receivers:
    - {name: shop}
    - {name: db}
    - {name: critical}
    - {name: am}
    - {name: default}
  routes:
    - match: {namespace: "shop*", category: [crash-loop, container-start], severity: [critical, error]}
      receivers: [shop]
      continue: true
    - match: {namespace: "~db-(eu|us)"}
      receivers: [db]
    - match: {labels: {team: payments}, node: "node-*"}
      receivers: [critical]
    - match: {signature: "runc-*"}
      receivers: [am]
"""


def route(**kw: object) -> list[str]:
    router = Router(parse_settings(CONFIG).alerts)
    return router.receivers_for(decode_change(change(**kw)).incident)  # type: ignore[arg-type]


def test_glob_and_continue() -> None:
    assert route(namespace="shop-eu") == ["shop", "am"]


def test_first_match_wins_without_continue() -> None:
    assert route(namespace="db-eu") == ["db"]
    assert route(namespace="db-asia", signature=None) == ["default"]  # regex must match all of it


def test_labels_and_node() -> None:
    assert route(namespace="pay", labels={"team": "payments"}) == ["critical"]
    assert route(namespace="pay", labels={"team": "other"}, signature=None) == ["default"]


def test_severity_list() -> None:
    assert route(namespace="shop", severity="warning") == ["am"]


def test_no_routes_means_every_receiver() -> None:
    settings = parse_settings("alerts: {receivers: [{name: a}, {name: b}]}").alerts
    assert Router(settings).receivers_for(decode_change(change()).incident) == ["a", "b"]


def test_catch_all_route() -> None:
    settings = parse_settings(
        "alerts: {receivers: [{name: a}, {name: b}], routes: [{match: {namespace: x}, receivers: [a]},"
        " {receivers: [b]}]}"
    ).alerts
    assert Router(settings).receivers_for(decode_change(change()).incident) == ["b"]


def test_unknown_receiver_is_a_config_error() -> None:
    # refused when the config is loaded (config_checks, issue 11), and by the Router built directly
    with pytest.raises(ConfigError, match=r"<config>:1: alerts\.routes\.0\.receivers\.0: unknown receiver"):
        parse_settings("alerts: {receivers: [{name: a}], routes: [{receivers: [nope]}]}")
    settings = AlertSettings(receivers=[Receiver(name="a")], routes=[Route(receivers=["nope"])])
    with pytest.raises(ConfigError, match="nope"):
        Router(settings)
