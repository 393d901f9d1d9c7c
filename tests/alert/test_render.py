"""Every shipped template renders, names the essentials, and the Chinese ones are Chinese."""

from __future__ import annotations

import re

import pytest

from podsleuth.alert.model import decode_change
from podsleuth.alert.render import Renderer
from tests.alert.helpers import change

ESSENTIALS = (
    "shop",
    "Deployment/web",
    "web-7d9f-abcde",
    "node-3",
    "app",
    "container-start",
    "//deleted",
    "Drain node-3",
    "mountinfo: root ends with //deleted",
)


@pytest.mark.parametrize("locale", ["en", "zh"])
@pytest.mark.parametrize("fmt", ["markdown", "text"])
def test_templates(locale: str, fmt: str) -> None:
    renderer = Renderer(locale=locale)
    changes = [decode_change(change()), decode_change(change("incident.resolved", id="b", pod="api-1"))]
    message = renderer.render(changes, fmt=fmt)  # type: ignore[arg-type]
    for needle in ESSENTIALS:
        assert needle in message.body, needle
    assert "api-1" in message.body
    assert "kmsg" in message.body and "events: 4" not in message.body  # first 3 evidence lines only
    if locale == "zh":
        assert "根因" in message.body and "个故障" in message.title
    else:
        assert "1 FIRING, 1 resolved" in message.title


def test_undiagnosed_incident_shows_the_message() -> None:
    body = Renderer().render([decode_change(change(diagnosed=False))], fmt="text").body
    assert "Message:" in body and "(via /proc/self/fd/6)" in body and "Root cause" not in body


def test_unknown_locale() -> None:
    with pytest.raises(ValueError, match="locale"):
        Renderer(locale="fr")


@pytest.mark.parametrize("locale", ["en", "zh"])
@pytest.mark.parametrize("fmt", ["markdown", "text"])
def test_the_explanation_of_the_cause_is_shown(locale: str, fmt: str) -> None:
    why = "the FUSE daemon was OOM-killed and restarted over the mount"
    raw = change()
    raw["incident"]["diagnosis"]["explanation"] = why
    message = Renderer(locale=locale).render([decode_change(raw)], fmt=fmt)  # type: ignore[arg-type]
    assert why in message.body


@pytest.mark.parametrize("locale", ["en", "zh"])
@pytest.mark.parametrize("fmt", ["markdown", "text"])
def test_each_incident_links_to_its_console_page_and_says_how_to_silence_it(locale: str, fmt: str) -> None:
    raw = change()
    incident_id = raw["incident"]["id"]
    linked = Renderer(locale=locale, external_url="https://podsleuth.example.com/").render(
        [decode_change(raw)], fmt=fmt  # type: ignore[arg-type]
    )
    assert f"https://podsleuth.example.com/incidents/{incident_id}" in linked.body
    assert f"podsleuth silence add --match id={incident_id}" in linked.body
    plain = Renderer(locale=locale).render([decode_change(raw)], fmt=fmt)  # type: ignore[arg-type]
    assert "/incidents/" not in plain.body and f"id={incident_id}" in plain.body


BOTH = pytest.mark.parametrize("locale", ["en", "zh"])
FORMATS = pytest.mark.parametrize("fmt", ["markdown", "text"])


def _first_line(locale: str, fmt: str, **kw: object) -> str:
    body = Renderer(locale=locale).render([decode_change(change(**kw))], fmt=fmt).body  # type: ignore[arg-type]
    return next(line for line in body.splitlines() if line.startswith(("###", "==")))


@BOTH
@FORMATS
def test_each_severity_has_its_own_mark(locale: str, fmt: str) -> None:
    heads = {sev: _first_line(locale, fmt, severity=sev) for sev in ("critical", "error", "warning")}
    resolved = _first_line(locale, fmt, event="incident.resolved")
    assert len(set(heads.values()) | {resolved}) == 4, heads
    marks = ("🔴", "🟠", "🟡") if fmt == "markdown" else ("[!!!]", "[!!]", "[!]")
    words = ("CRITICAL", "ERROR", "WARNING") if locale == "en" else ("严重", "错误", "警告")
    for (sev, head), mark, word in zip(heads.items(), marks, words, strict=True):
        assert head.split()[1] == mark, (sev, head)
        assert word in head, (sev, head)
    assert "🔴" not in heads["warning"] and "🔴" not in heads["error"]
    assert ("✅" if fmt == "markdown" else "[ok]") in resolved


@BOTH
@FORMATS
def test_a_node_incident_prints_no_empty_pod_fields(locale: str, fmt: str) -> None:
    raw = change(
        namespace=None, pod=None, container=None, category="node-disk-pressure", reason="DiskPressure"
    )
    raw["incident"]["owner"] = None
    body = Renderer(locale=locale).render([decode_change(raw)], fmt=fmt).body  # type: ignore[arg-type]
    assert "node-3" in body
    assert not re.search("[:\uff1a]\\**\\s*-\\s*$", body, re.M), body
    labels = (
        ("Namespace", "Pod(s)", "Container", "Workload")
        if locale == "en"
        else ("命名空间", "Pod", "容器", "工作负载")
    )
    for label in labels:
        assert label not in body, label


@BOTH
@FORMATS
def test_every_message_carries_the_incident_id(locale: str, fmt: str) -> None:
    changes = [decode_change(change(id="a1b2c3")), decode_change(change("incident.resolved", id="d4e5f6"))]
    body = Renderer(locale=locale).render(changes, fmt=fmt).body  # type: ignore[arg-type]
    label = "Incident:" if locale == "en" else "事件 ID\uff1a"
    for incident_id in ("a1b2c3", "d4e5f6"):
        assert any(label in line and incident_id in line for line in body.splitlines()), incident_id
        assert f"podsleuth silence add --match id={incident_id}" in body


@BOTH
@FORMATS
def test_a_storm_digest_lists_the_ids_it_summarises(locale: str, fmt: str) -> None:
    changes = [decode_change(change(id=f"storm{n:02}", pod=f"web-{n}")) for n in range(13)]
    body = Renderer(locale=locale, max_detail=1).render(changes, fmt=fmt).body  # type: ignore[arg-type]
    assert body.count("podsleuth silence add") == 1
    for n in range(1, 11):
        assert f"storm{n:02}" in body, n
    assert "storm11" not in body and ("2 more" in body if locale == "en" else "等 12 个" in body)


def test_unknown_severity_reads_as_error() -> None:
    assert "🟠" in _first_line("en", "markdown", severity="<script>")


@BOTH
@FORMATS
def test_the_title_carries_the_worst_firing_severity(locale: str, fmt: str) -> None:
    def title(*changes: dict[str, object]) -> str:
        rendered = Renderer(locale=locale).render([decode_change(c) for c in changes], fmt=fmt)  # type: ignore[arg-type]
        return rendered.title

    marks = dict(zip(("critical", "error", "warning", "resolved"), ("🔴", "🟠", "🟡", "✅"), strict=True))
    if fmt == "text":
        marks = {"critical": "CRITICAL", "error": "ERROR", "warning": "WARNING", "resolved": "[RESOLVED]"}
        if locale == "zh":
            marks = {"critical": "严重", "error": "错误", "warning": "警告", "resolved": "【已恢复】"}
    warn = change(severity="warning")
    assert title(warn, change(id="b", severity="critical")).startswith(marks["critical"])
    assert title(warn, change(id="b", severity="error")).startswith(marks["error"])
    assert title(warn).startswith(marks["warning"])
    resolved = change("incident.resolved", severity="critical")
    assert title(resolved).startswith(marks["resolved"])
    assert title(resolved, change(id="b", severity="warning")).startswith(marks["warning"])
