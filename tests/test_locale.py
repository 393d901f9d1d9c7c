"""Which language a reader gets (``resolve_lang``) and a diagnosis in it (``localize``)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from podsleuth.locale import LOCALES, localize, resolve_lang


def test_explicit_option_wins_over_config_and_environment() -> None:
    assert resolve_lang("en", "zh", {"LANG": "zh_CN.UTF-8"}) == "en"
    assert resolve_lang("zh", "en", {"LANG": "en_US.UTF-8"}) == "zh"
    assert resolve_lang(None, "zh", {"LANG": "en_US.UTF-8"}) == "zh"
    assert resolve_lang("", "en", {"LANG": "zh_CN.UTF-8"}) == "en"  # an empty option is no option


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "zh_TW.Big5"}, "zh"),
        ({"LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
        ({"LC_ALL": "en_US.UTF-8", "LC_MESSAGES": "zh_CN.UTF-8"}, "en"),  # LC_ALL overrides
        ({"LC_ALL": "zh_CN.UTF-8", "LANG": "C"}, "zh"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "de_DE.UTF-8"}, "en"),  # no German texts: English
        ({"LC_ALL": "", "LANG": "zh_CN.UTF-8"}, "zh"),  # an empty variable is unset
        ({}, "en"),
    ],
)
def test_environment_is_the_default_hint(env: dict[str, str], expected: str) -> None:
    assert resolve_lang(None, None, env) == expected


def test_language_spellings_of_an_explicit_choice() -> None:
    for value in ("zh", "ZH", "zh-CN", "zh_CN.UTF-8"):
        assert resolve_lang(value, None, {}) == "zh"
    assert resolve_lang("en_GB", None, {}) == "en"


def test_an_unknown_explicit_language_is_an_error_not_english() -> None:
    with pytest.raises(ValueError, match="--lang: unknown language 'fr'"):
        resolve_lang("fr", None, {})
    with pytest.raises(ValueError, match="locale: unknown language 'chinese'"):
        resolve_lang(None, "chinese", {})


def _diagnosis() -> dict[str, Any]:
    return {
        "root_cause": "container-memory-limit",
        "rule": "oom-limit",
        "summary": "container cart exceeded its memory limit 256Mi - but: the node was NotReady",
        "explanation": "The container's memory use reached its cgroup limit.",
        "confidence": 0.6,
        "remediation": ["Raise the memory limit of container cart above 256Mi."],
        "contradictions": [{"id": "node-down", "said": "the node was NotReady"}],
        "evidence": [
            {"source": "signature", "fact": "the message matches 'oom-killed'", "data": {"score": 1}},
            {"source": "api:pod", "fact": "container cart last terminated OOMKilled", "data": {}},
            {"source": "contradiction", "fact": "the node was NotReady", "data": {"id": "node-down"}},
        ],
        "next_checks": ["kubectl -n shop top pod cart"],
        "translations": {
            "zh": {
                "summary": "容器 cart 超出内存限制 256Mi——但：节点当时 NotReady",
                "explanation": "容器的内存用量达到了 cgroup 限制。",
                "remediation": ["把容器 cart 的内存限制调到 256Mi 以上。"],
                "next_checks": ["kubectl -n shop top pod cart"],
                "evidence": [
                    "消息与已知故障 'oom-killed' 匹配",
                    "容器 cart 上次以 OOMKilled 终止",
                    "节点当时 NotReady",
                ],
                "contradictions": ["节点当时 NotReady"],
            }
        },
    }


def test_localize_zh_swaps_every_text_and_keeps_ids() -> None:
    d = _diagnosis()
    before = copy.deepcopy(d)
    zh = localize(d, "zh")
    assert d == before, "the input is not changed"
    assert zh is not None and zh["locale"] == "zh"
    texts = d["translations"]["zh"]
    for key in ("summary", "explanation", "remediation", "next_checks"):
        assert zh[key] == texts[key]
    assert [e["fact"] for e in zh["evidence"]] == texts["evidence"]
    assert [(e["source"], e["data"]) for e in zh["evidence"]] == [
        (e["source"], e["data"]) for e in d["evidence"]
    ]
    assert zh["contradictions"] == [{"id": "node-down", "said": "节点当时 NotReady"}]
    assert (zh["root_cause"], zh["rule"], zh["confidence"]) == ("container-memory-limit", "oom-limit", 0.6)
    assert zh["translations"] == d["translations"], "translations are kept"


def test_localize_en_is_the_english_unchanged_with_its_locale() -> None:
    d = _diagnosis()
    en = localize(d, "en")
    assert en is not None
    assert en.pop("locale") == "en"
    assert en == d


def test_a_diagnosis_without_the_translation_stays_english() -> None:
    d = _diagnosis()
    del d["translations"]
    zh = localize(d, "zh")
    assert zh is not None and zh["locale"] == "en"
    assert zh["summary"] == d["summary"] and zh["evidence"] == d["evidence"]


def test_missing_items_fall_back_per_item() -> None:
    d = _diagnosis()
    d["translations"]["zh"]["evidence"] = ["消息与已知故障 'oom-killed' 匹配"]  # shorter: a hand-edited row
    d["translations"]["zh"]["explanation"] = ""
    d["evidence"][1]["translations"] = {"zh": "来自证据条目自身的译文"}
    zh = localize(d, "zh")
    assert zh is not None
    assert [e["fact"] for e in zh["evidence"]] == [
        "消息与已知故障 'oom-killed' 匹配",
        "来自证据条目自身的译文",  # the item's own translation
        "the node was NotReady",  # nothing in Chinese: English
    ]
    assert zh["explanation"] == d["explanation"]


def test_none_and_unknown_languages() -> None:
    assert localize(None, "zh") is None
    assert set(LOCALES) == {"en", "zh"}
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        localize(_diagnosis(), "fr")
