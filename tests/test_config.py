from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

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
      apprise: ["dingtalk://x", "slack://TA/TB/TC/"]
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
    assert s.alerts.receivers[2].apprise == ["dingtalk://x", "slack://TA/TB/TC/"]


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


# --- one validation for watch, config show and manifests --config (issue 11) ---------------

_RECEIVER = "alerts:\n  receivers:\n    - name: a\n      webhook: {url: 'http://hooks.example/x'}\n"
BAD_CONFIGS = [
    pytest.param(
        _RECEIVER + "  routes:\n    - match: {namespace: '~(unclosed'}\n      receivers: [a]\n",
        ":6: alerts.routes.0.match.namespace: invalid regular expression",
        id="route-regex",
    ),
    pytest.param(
        _RECEIVER + "  routes:\n    - match: {labels: {team: '~[z-a]'}}\n      receivers: [a]\n",
        ":6: alerts.routes.0.match.labels.team: invalid regular expression",
        id="label-regex",
    ),
    pytest.param(
        _RECEIVER + "  routes:\n    - receivers: [a, nobody]\n",
        ":6: alerts.routes.0.receivers.1: unknown receiver 'nobody'",
        id="unknown-receiver",
    ),
    pytest.param(
        "alerts:\n  receivers:\n    - name: a\n      webhook: {url: 'ftp://hooks.example/x'}\n",
        ":4: alerts.receivers.0.webhook.url: webhook URL must be http:// or https://",
        id="webhook-scheme",
    ),
    pytest.param(
        "alerts:\n  receivers:\n    - name: a\n      webhook: {url: 'http://h:99999/x'}\n",
        ":4: alerts.receivers.0.webhook.url: webhook URL is not a valid URL",
        id="webhook-port",
    ),
    pytest.param(
        "alerts:\n  receivers:\n    - name: a\n      alertmanager: {url: 'alertmanager:9093'}\n",
        ":4: alerts.receivers.0.alertmanager.url: alertmanager URL must be http:// or https://",
        id="alertmanager-no-scheme",
    ),
    pytest.param(
        "alerts:\n  receivers:\n    - name: a\n      apprise: ['slack://onlyone']\n",
        ":4: alerts.receivers.0.apprise.0: apprise cannot use",
        id="apprise-incomplete",
    ),
    pytest.param(
        "alerts:\n  receivers:\n    - name: a\n      webhook:\n        url: 'https://u:p@hooks.example/x'\n"
        "        headers: {Authorization: 'Bearer t'}\n",
        ":6: alerts.receivers.0.webhook.headers: credentials given twice",
        id="credentials-twice",
    ),
    pytest.param(
        "alerts:\n  receivers:\n    - name: a\n      apprise: ['json://u:p@h/x?-Authorization=Bearer%20t']\n",
        ":4: alerts.receivers.0.apprise.0: credentials given twice",
        id="apprise-credentials-twice",
    ),
    pytest.param(
        "store: a.db\nwatch: {}\nstore: b.db\n",
        ":3: duplicate key 'store' (first given on line 1)",
        id="dup-top",
    ),
    pytest.param(
        "alerts:\n  group_wait: 1s\n  group_wait: 2s\n", ":3: duplicate key 'group_wait'", id="dup-nested"
    ),
    pytest.param(
        "alerts:\n  receivers:\n    - {name: a, kubernetes_events: {}}\n"
        "    - {name: a, kubernetes_events: {}}\n",
        ":4: alerts.receivers.1.name: receiver name 'a' given twice",
        id="dup-receiver",
    ),
    pytest.param(
        "node_agents:\n  urls: {n1: 'tcp://10.0.0.1:9808'}\n",
        ":2: node_agents.urls.n1: node agent URL must be http:// or https://",
        id="agent-url",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD_CONFIGS)
def test_semantic_errors_name_file_and_line(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_settings(text, source="c.yaml")
    assert str(e.value).startswith("c.yaml" + expected), str(e.value)


@pytest.mark.parametrize(("text", "expected"), BAD_CONFIGS[:3] + BAD_CONFIGS[7:10])
@pytest.mark.parametrize(
    "argv",
    [
        ["config", "show", "--config"],
        ["manifests", "--config"],
        ["watch", "--demo", "--duration", "1", "--config"],
    ],
    ids=["config-show", "manifests", "watch"],
)
def test_every_command_refuses_the_same_config(
    tmp_path: Path, argv: list[str], text: str, expected: str
) -> None:
    from podsleuth.cli import cli

    path = tmp_path / "c.yaml"
    path.write_text(text)
    result = CliRunner().invoke(cli, [*argv, str(path)])
    assert result.exit_code == 2, result.output
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"podsleuth: error: {path}{expected}")
    assert "Traceback" not in result.output


def test_aliases_are_walked_once() -> None:
    """A billion-laughs document must not make the duplicate-key walk explode."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join(['*a' + str(i - 1)] * 10)}]" for i in range(1, 9)]
    with pytest.raises(ConfigError, match="unknown key"):
        parse_settings("\n".join(lines), source="c.yaml")


def test_a_bare_yaml_off_means_off() -> None:
    """YAML 1.1 reads ``off`` as false; the documented ``discovery: off`` must still work."""
    assert parse_settings("node_agents: {discovery: off}\n").node_agents.discovery == "off"
