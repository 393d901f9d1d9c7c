"""A diagnosis's texts in every language: the rule's or signature's entry rendered per language.

The knowledge base keeps each language beside the English in the same entry (``zh:`` blocks,
checked on load against the English: same placeholders, same item counts); this module renders
them with the same facts, so the languages cannot drift apart in what they say. Two things are
not data and live here: *phrase facts* (sentence fragments the code builds from other facts and
the templates insert, ``{oom_because|}``: one form per language, computed together so they
agree) and the joints of a composed text (" - but: ", "; ").

Per entry, a missing translation falls back to that entry's English (rendered with the English
phrase facts, so no sentence mixes the languages); the lead makes ``zh`` required once every
entry has one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from podsleuth.diagnose.api_context import dependency_phrase
from podsleuth.diagnose.evidence import Evidence
from podsleuth.diagnose.knowledge import Classification, LocalTexts
from podsleuth.diagnose.phrases import phrase
from podsleuth.diagnose.rules import Contradiction, Rule, render, render_items
from podsleuth.locale import DEFAULT, LOCALES

OTHER = tuple(lang for lang in LOCALES if lang != DEFAULT)
"""The languages rendered besides the English of the contract's own fields."""

_BUT = {"en": " - but: ", "zh": "——但："}
_SEP = {"en": "; ", "zh": "；"}
_DETAIL = {"en": " - ", "zh": "："}
_UNKNOWN = {"en": "unknown", "zh": "未知"}
_PEER = re.compile(r"^(?P<pod>\S+) on (?P<node>\S+) \((?P<arch>.*)\)$")

PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "nonempty": " with -o nonempty",
        "oom": "OOM-killed and ",
        "oom_because": " (the kernel OOM-killed {comm} pid {pid} at {at})",
        "driver": " ({driver}, mounter {mounter})",
        "plugin": "; the CSI node plugin {plugin} restarted {restarts} time(s) (last: {last})",
        "arch": ", kubernetes.io/arch={arch}",
    },
    "zh": {
        "nonempty": "，且带 -o nonempty 参数",
        "oom": "因 OOM-kill 而",
        "oom_because": "（内核在 {at} OOM-kill 了 {comm}，pid {pid}）",
        "driver": "（{driver}，mounter {mounter}）",
        "plugin": "；CSI 节点插件 {plugin} 已重启 {restarts} 次（最近一次：{last}）",
        "arch": "，kubernetes.io/arch={arch}",
    },
}
"""Phrase facts by language (``str.format`` templates over the facts they are built of)."""

SAID: dict[str, dict[str, str]] = {
    "no-signature": {
        "en": "no known failure signature matches the message",
        "zh": "消息不匹配任何已知的故障特征",
    },
    "signature": {
        "en": "the message matches the known failure {signature!r}: {summary}",
        "zh": "消息与已知故障 '{signature}' 匹配：{summary}",
    },
    "earlier-event": {
        "en": "an earlier event of the pod matches the more specific failure {signature!r}: {summary}",
        "zh": "该 Pod 较早的一个事件与更具体的故障 '{signature}' 匹配：{summary}",
    },
    "first": {
        "en": "the message matches the known failure {signature!r}",
        "zh": "消息与已知故障 '{signature}' 匹配",
    },
    "first-checks": {"en": "checks that would confirm it", "zh": "可以确认它的检查"},
}
"""The evidence sentences the diagnoser itself words, by language."""


def phrases(f: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """The phrase facts in ``lang``, from the facts they are built of (``derive`` stores the
    English ones; ``facts_in`` overlays another language's)."""
    p = PHRASES.get(lang, PHRASES[DEFAULT])
    unknown = _UNKNOWN.get(lang, _UNKNOWN[DEFAULT])
    out: dict[str, Any] = {"nonempty_clause": p["nonempty"] if f.get("daemon_nonempty") else ""}
    if f.get("daemon_oom_killed"):
        out["oom_clause"] = p["oom"]
        out["oom_because"] = p["oom_because"].format(
            comm=f.get("oom_comm"), pid=f.get("oom_pid"), at=f.get("oom_time")
        )
    else:
        out["oom_clause"] = out["oom_because"] = ""
    driver = f.get("csi_driver")
    out["driver_clause"] = (
        p["driver"].format(driver=driver, mounter=f.get("pv_mounter") or unknown) if driver else ""
    )
    plugin = f.get("plugin_pod")
    out["plugin_clause"] = (
        p["plugin"].format(plugin=plugin, restarts=f.get("plugin_restarts"),
                           last=f.get("plugin_last_reason") or unknown)
        if plugin else ""
    )  # fmt: skip
    arch = f.get("node_arch")
    out["node_arch_clause"] = p["arch"].format(arch=arch) if arch else ""
    if lang != DEFAULT:
        out.update(_from_catalogue(f, lang))
    return out


def _from_catalogue(f: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """Phrase facts another link builds as catalogue phrases but stores rendered in English
    (api_context, api_images): the same phrases in ``lang``, rebuilt from their facts."""
    out: dict[str, Any] = {}
    if f.get("dependency_words"):
        out["dependency_words"] = dependency_phrase(dict(f)).render(lang)
    kind = f.get("registry_kind")
    kinds = {
        "all-public": phrase("image.registry-all-public"),
        "mixed": phrase("image.registry-mixed"),
        "private": phrase("image.registry-private"),
    }
    if f.get("registry_words") and isinstance(kind, str) and kind in kinds:
        out["registry_words"] = kinds[kind].render(lang)
    peers = f.get("image_platform_peers")
    if isinstance(peers, list) and peers:
        out["image_platform_peers"] = [_peer(str(p), lang) for p in peers]
    return out


def _peer(text: str, lang: str) -> str:
    m = _PEER.match(text)  # the English of image.platform-peer: "{pod} on {node} ({arch})"
    if m is None:
        return text
    unknown = phrase("image.arch-unknown")
    arch: object = unknown if m["arch"] == unknown.render() else m["arch"]
    return phrase("image.platform-peer", pod=m["pod"], node=m["node"], arch=arch).render(lang)


def worded(key: str, lang: str, **values: Any) -> str:
    """One of the diagnoser's own evidence sentences (``SAID``) in ``lang``."""
    texts = SAID[key]
    return texts.get(lang, texts[DEFAULT]).format(**values)


def facts_in(facts: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """The facts a ``lang`` template is rendered with: the same, phrase facts in ``lang``."""
    return {**facts, **phrases(facts, lang)} if lang != DEFAULT else dict(facts)


@dataclass
class Draft:
    """The texts of one language while ``conclude`` composes them (lists pair with the English)."""

    summary: str
    explanation: str
    remediation: list[str]
    checks: list[str]
    lang: str
    """The language the summary is in: the draft's, or English for an entry without it yet (the
    joints of composed texts then stay English too)."""
    said: list[str] = field(default_factory=list)

    def but(self) -> None:
        """Contradictions are said at the end of the summary too."""
        if self.said:
            sep = _SEP.get(self.lang, _SEP[DEFAULT])
            self.summary = f"{self.summary}{_BUT.get(self.lang, _BUT[DEFAULT])}{sep.join(self.said)}"


def rule_draft(rule: Rule, facts: Mapping[str, Any], lang: str, fallback_checks: list[str]) -> Draft:
    """The rule's texts in ``lang`` (its English when it has no translation yet)."""
    tr = rule.zh if lang == "zh" else None
    if tr is None:
        f = facts_in(facts, DEFAULT)
        checks = rule.checks(f) or fallback_checks
        return Draft(render(rule.summary, f), render(rule.root_cause, f), rule.remedies(f), checks, DEFAULT)
    f = facts_in(facts, lang)
    return Draft(
        render(tr.summary, f),
        render(tr.root_cause, f),
        render_items(rule.remediation, f, tr.remediation),
        render_items(rule.next_checks, f, tr.next_checks) or fallback_checks,
        lang,
    )


def signature_texts(c: Classification, lang: str, facts: Mapping[str, Any]) -> LocalTexts:
    """The signature's texts in ``lang`` with their placeholders filled from ``facts`` (the
    diagnosis's: pod and namespace too, not only the message's). The summary was rendered by
    the classification; the explanation, steps and checks are rendered here."""
    t = c.texts(lang)
    f = facts_in(facts, lang if lang in c.translations else DEFAULT)
    return LocalTexts(
        summary=t.summary,
        root_cause=render(t.root_cause, f),
        next_checks_api=tuple(render(x, f) for x in t.next_checks_api),
        next_checks_node=tuple(render(x, f) for x in t.next_checks_node),
        remediation=tuple(render(x, f) for x in t.remediation),
    )


def signature_draft(
    c: Classification, lang: str, facts: Mapping[str, Any], *, detail: str = "", unmatched: str = ""
) -> Draft:
    """The signature's own diagnosis in ``lang`` (no rule matched); ``unmatched``: the summary
    when no signature matched either (the message's own words, in every language)."""
    t = signature_texts(c, lang, facts)
    lang = lang if lang in c.translations else DEFAULT
    summary = t.summary if c.signature else unmatched
    if c.signature and detail and detail.lower() not in summary.lower():
        # the catalogue's wording is generic; the message's is not
        summary = f"{summary}{_DETAIL.get(lang, _DETAIL[DEFAULT])}{detail}"
    return Draft(summary, t.root_cause, list(t.remediation), [*t.next_checks_api, *t.next_checks_node], lang)


def contradiction_texts(c: Contradiction, facts: Mapping[str, Any], lang: str) -> tuple[str, list[str]]:
    """What a contradiction says and the checks it adds, in ``lang``."""
    tr = c.zh if lang == "zh" else None
    if tr is None:
        f = facts_in(facts, DEFAULT)
        return render(c.say, f), c.checks(f)
    f = facts_in(facts, lang)
    return render(tr.say, f), render_items(c.next_checks, f, tr.next_checks)


def evidence_fact(e: Evidence, lang: str) -> str:
    """An evidence item's fact in ``lang``: its own translation (the phrase catalogue's), else
    its English fact."""
    return e.text(lang)


def plain(e: Evidence) -> Evidence:
    """The item as the diagnosis keeps it: its translated facts live in the diagnosis's
    ``translations[lang].evidence`` (one place), so the item is the contract's
    ``{source, fact, data}``."""
    return msgspec.structs.replace(e, translations={}) if e.translations else e


def first_of(english: Sequence[str], *others: list[str]) -> None:
    """Drop repeated English items (first one kept) and the paired items of the other lists."""
    keep = [i for i, text in enumerate(english) if text not in english[:i]]
    for items in others:
        items[:] = [items[i] for i in keep if i < len(items)]


def said(source: str, fact: str, data: Mapping[str, Any], **other: str) -> Evidence:
    """An evidence item worded in every language (``zh="..."``)."""
    return Evidence(source, fact, dict(data), dict(other))


def said_in_all(source: str, data: Mapping[str, Any], key: str, c: Classification | None = None) -> Evidence:
    """One of the diagnoser's own sentences (``SAID[key]``) as evidence, in every language;
    ``c``: the classification it names (its id and its summary in each language)."""

    def one(lang: str) -> str:
        return (
            worded(key, lang, signature=c.signature, summary=c.texts(lang).summary)
            if c
            else worded(key, lang)
        )

    return said(source, one(DEFAULT), data, **{lang: one(lang) for lang in OTHER})
