"""Every shipped template renders, names the essentials, and the Chinese ones are Chinese."""

from __future__ import annotations

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
