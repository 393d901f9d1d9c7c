"""``config show`` masks credentials by the URL's structure, for every scheme the docs name.

The secrets below are short plain words on purpose: they do not look like tokens, so only
knowing where a scheme keeps its credentials (apprise's own parser) can hide them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from podsleuth.cli import cli
from podsleuth.redact import redact, scrub, url_secrets

# (URL with "hush" where a credential goes, a part that must stay visible)
DOCUMENTED = [
    ("slack://hushA/hushB/hushC/#ops", "#ops"),
    ("discord://hushid/hushtoken", "discord://"),
    ("tgram://123456:hush/98765", "/98765"),
    ("dingtalk://hush/", "dingtalk://"),
    ("dingtalk://hushsecret@hushtoken/", "dingtalk://"),
    ("wecombot://hush", "wecombot://"),
    ("feishu://hush", "feishu://"),
    ("pover://hushuser@hushtoken", "pover://"),
    ("ntfy://user:hush@ntfy.example.com/topic", "ntfy.example.com/topic"),
    ("ntfy://ntfy.example.com/topic?token=hush", "ntfy.example.com/topic"),
    ("gotify://gotify.example.com/hush", "gotify.example.com"),
    ("mailto://user:hush@smtp.example.com?to=oncall@example.com", "smtp.example.com"),
    ("mailtos://user:hush@smtp.example.com", "smtp.example.com"),
    ("json://hooks.example.com/hook/hush", "hooks.example.com"),
    ("json://user:hush@hooks.example.com/x?-X-Api-Key=hushkey", "hooks.example.com"),
    ("xml://hooks.example.com/hush", "hooks.example.com"),
    ("form://hooks.example.com/path/hush", "hooks.example.com"),
    ("workflows://flows.example.com:443/hushflow/hushsig", "flows.example.com"),
]


@pytest.mark.parametrize(
    ("url", "visible"), DOCUMENTED, ids=[u.split(":")[0] + str(i) for i, (u, _) in enumerate(DOCUMENTED)]
)
def test_apprise_scheme_masked_by_structure(tmp_path: Path, url: str, visible: str) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(json.dumps({"alerts": {"receivers": [{"name": "chat", "apprise": [url]}]}}))
    result = CliRunner().invoke(cli, ["config", "show", "--config", str(config), "-o", "json"])
    assert result.exit_code == 0, result.output
    [shown] = json.loads(result.stdout)["alerts"]["receivers"][0]["apprise"]
    assert "hush" not in shown, shown
    assert visible in shown, shown
    # the same parts are scrubbed from error texts that echo the URL
    assert "hush" not in scrub(f"POST {url} failed", url_secrets(url))


def test_webhook_headers_userinfo_query_and_store_password(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        json.dumps(
            {
                "alerts": {
                    "receivers": [
                        {
                            "name": "hook",
                            "webhook": {
                                "url": "https://bot:hushpw@hooks.example.com/in?team=hushq",
                                "headers": {"X-Custom": "hushcustom", "Content-Type": "application/json"},
                            },
                        },
                        {"name": "am", "alertmanager": {"url": "http://am:hushp@alertmanager:9093/"}},
                    ]
                },
                "store": "postgresql://podsleuth:hushdb@db.example.com/podsleuth",
                "node_agents": {"discovery": "static", "urls": {"n1": "http://u:hushagent@10.0.0.1:9808"}},
            }
        )
    )
    result = CliRunner().invoke(cli, ["config", "show", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "hush" not in result.output
    assert "X-Custom: '***'" in result.output and "Content-Type: application/json" in result.output
    assert "https://***@hooks.example.com/in?team=***" in result.output
    assert "postgresql://podsleuth:***@db.example.com/podsleuth" in result.output
    assert "http://***@10.0.0.1:9808" in result.output


def test_unknown_or_broken_urls_fail_closed() -> None:
    assert redact("nosuchscheme://hushhost/hushpath") == "nosuchscheme://***/***"
    assert redact("https://h:99999/hush") == "***"
    assert redact("sqlite:///var/lib/podsleuth/p.db") == "sqlite:///var/lib/podsleuth/p.db"
