from __future__ import annotations

from pathlib import Path

import pytest

from podsleuth.config import Settings, load_settings, parse_settings
from podsleuth.errors import ConfigError

CONTRACT_EXAMPLE = """
watch:
  namespaces: []
  exclude_namespaces: []
  label_selector: ""
  ignore:
    - {namespace: "kube-system", category: probe-failure}
  thresholds:
    stuck_creating: 5m
    pending: 2m
    terminating_extra: 5m
alerts:
  group_wait: 10s
  repeat_interval: 4h
  send_resolved: true
  locale: en
  receivers:
    - name: team-shop
      webhook: {url: "http://example.invalid/hook", headers: {}, hmac_secret_file: "", timeout: 10s}
    - name: am
      alertmanager: {url: "http://alertmanager:9093"}
    - name: chat
      apprise: ["dingtalk://x", "slack://y"]
    - name: cluster-events
      kubernetes_events: {}
  routes:
    - match: {namespace: "shop*", category: [crash-loop, oom-killed], severity: [critical, error]}
      receivers: [team-shop]
      continue: true
    - receivers: [am, cluster-events]
store: "sqlite:///var/lib/podsleuth/podsleuth.db"
node_agents:
  discovery: daemonset
  namespace: podsleuth
  label_selector: "app.kubernetes.io/component=node-agent"
  port: 9808
  urls: {}
  token_file: ""
"""


def test_contract_example_config_validates() -> None:
    s = parse_settings(CONTRACT_EXAMPLE)
    assert s.watch.thresholds.stuck_creating == 300
    assert s.alerts.repeat_interval == 4 * 3600
    assert s.alerts.routes[0].continue_ is True
    assert s.alerts.receivers[2].apprise == ["dingtalk://x", "slack://y"]


def test_empty_file_gives_defaults() -> None:
    assert parse_settings("") == Settings()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("watch:\n  thresholdz: {}\n", "c.yaml:2: unknown key 'watch.thresholdz'"),
        ("watch:\n  thresholds:\n    pending: soon\n", "c.yaml:3: watch.thresholds.pending: not a duration"),
        ("alerts:\n  locale: fr\n", "c.yaml:2: alerts.locale:"),
        ("node_agents:\n  port: 70000\n", "c.yaml:2: node_agents.port:"),
        ("watch: [1, 2\n", "c.yaml:2: invalid YAML"),
        ("- a\n- b\n", "c.yaml: the top level must be a mapping"),
    ],
)
def test_bad_config_names_key_and_line(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(text, source="c.yaml")
    assert str(info.value).startswith(expected)
    assert "\n" not in str(info.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml")
