"""The console in a real browser (Debian's Chromium through Playwright) over a store the real
watcher wrote: list, filters, live updates, the founding incident's page, hostile text, silences."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.console.conftest import TOKEN, Console, write_change

pytestmark = pytest.mark.browser


def rows(page: Any) -> list[str]:
    return [r.get_attribute("data-id") for r in page.query_selector_all("#rows tr[data-id]")]


def test_list_shows_the_watchers_incidents_most_severe_first(console: Console, page: Any) -> None:
    page.goto(console.url + "/")
    ids = rows(page)
    assert len(ids) >= 6
    first = page.query_selector("#rows tr[data-id] .sev")
    assert first is not None and first.inner_text().strip().lower() == "critical"
    assert "stale-fuse-bind-after-daemon-restart" in page.inner_text("#rows")
    counts = page.inner_text(".counts")
    assert "oom-killed" in counts and "container-start" in counts
    assert page.errors == []


def test_filters_live_in_the_url(console: Console, page: Any) -> None:
    page.goto(console.url + "/")
    page.select_option("select[name=severity]", "warning")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**severity=warning**")
    assert "severity=warning" in page.url
    texts = [s.inner_text().strip().lower() for s in page.query_selector_all("#rows .sev")]
    assert texts and set(texts) == {"warning"}
    page.goto(console.url + "/?category=oom-killed&state=all")
    categories = {c.inner_text() for c in page.query_selector_all("#rows tr[data-id] td:nth-child(2)")}
    assert categories == {"oom-killed"}


def test_a_new_incident_appears_without_a_reload(console: Console, page: Any) -> None:
    page.goto(console.url + "/")
    page.wait_for_selector("#live:not([hidden])", timeout=10_000)
    page.evaluate("window.__same_page = true")
    incident = {
        "id": f"11fe{int(time.time() * 1000) % 10**8:08d}",
        "fingerprint": "live-test",
        "category": "crash-loop",
        "reason": "CrashLoopBackOff",
        "signature": None,
        "severity": "critical",
        "namespace": "live",
        "pod": "arrives-later-0",
        "node": "node-9",
        "container": "app",
        "owner": None,
        "message": "back-off restarting failed container",
        "count": 1,
        "first_seen": "2026-12-03T00:00:00Z",
        "last_seen": "2026-12-03T00:00:00Z",
        "diagnosis": None,
    }
    write_change(console.store, {"event": "incident.opened", "incident": incident})
    page.wait_for_selector(f"#rows tr[data-id='{incident['id']}']", timeout=15_000)
    assert page.evaluate("window.__same_page") is True
    resolved = dict(incident, resolved_at="2026-12-03T00:05:00Z")
    write_change(console.store, {"event": "incident.resolved", "incident": resolved})
    page.wait_for_selector(f"#rows tr[data-id='{incident['id']}']", state="detached", timeout=15_000)
    assert page.evaluate("window.__same_page") is True


def test_founding_incident_page_shows_the_chain_and_what_to_do(console: Console, page: Any) -> None:
    page.goto(console.url + "/?q=dashboard")
    page.click("#rows a[href^='/incidents/']")
    page.wait_for_selector("#evidence")
    assert "/incidents/" in page.url and page.inner_text("#incident-id") in page.url
    cause = page.inner_text("#root-cause")
    assert "stale-fuse-bind-after-daemon-restart" in cause
    badges = [b.inner_text() for b in page.query_selector_all("#evidence .badge")]
    assert badges[0] == "signature" and any(b.startswith("api") for b in badges)
    assert any(b.startswith("node-agent") for b in badges)
    assert "no such file or directory" in page.inner_text("#message")
    commands = page.query_selector_all("#remediation button.copy")
    assert commands, "remediation commands get copy buttons"
    assert "findmnt" in (commands[0].get_attribute("data-copy") or "")
    assert "Deployment/dashboard" in page.inner_text("#affected")
    assert page.errors == []


def test_hostile_cluster_text_is_shown_as_text_and_runs_nothing(console: Console, page: Any) -> None:
    page.goto(console.url + "/incidents/b00b5a1e0001")
    page.wait_for_selector("#message")
    assert '<img src=x onerror="window.__pwned=1">' in page.inner_text("#message")
    assert "<script>" in page.inner_text("#events")
    assert "<script>" in page.inner_text("#logs")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.query_selector("img[src=x]") is None
    assert page.query_selector("main script") is None
    assert page.errors == []


def test_silences_need_the_token(console: Console, page: Any) -> None:
    page.goto(console.url + "/silences?namespace=shop")
    assert "namespace=shop" in page.input_value("textarea[name=matchers]")
    page.fill("input[name=comment]", "refused-without-token")
    with page.expect_response(lambda r: r.url.endswith("/silences") and r.request.method == "POST") as answer:
        page.click("#silence-form button[type=submit]")
    assert answer.value.status == 403
    page.goto(console.url + "/silences?namespace=shop")
    page.fill("input[name=comment]", "made-in-browser")
    page.fill("#silence-form input[name=token]", TOKEN)
    page.click("#silence-form button[type=submit]")
    page.wait_for_url(console.url + "/silences")
    table = page.inner_text("#silences")
    assert "made-in-browser" in table and "refused-without-token" not in table


def test_chinese_pages(console: Console, page: Any) -> None:
    page.goto(console.url + "/?lang=zh")
    assert "严重级别" in page.inner_text("thead")
    page.goto(console.url + "/silences")
    assert "静默" in page.inner_text("h1"), "the choice is remembered"
