"""Which language a person reads, and a diagnosis in that language.

Every diagnosis carries its user-facing texts twice: English in the contract's own fields
(``summary``, ``explanation``, ``remediation``, ``next_checks``, each evidence ``fact``, each
contradiction's ``said``) and every other language under ``translations[lang]`` (the
``Texts`` of ``podsleuth.diagnose.diagnosis``: the same texts, lists in the same order). The
producer renders all languages at once, so a stored or alerted diagnosis can be shown in any of
them later without re-running the chain; a front end picks one language with ``resolve_lang``
and shows ``localize(diagnosis, lang)``.

A foundation module (no podsleuth imports): alerts, the CLI and the console each work on the
contract's JSON dicts, not on the diagnose package's types, and all of them may use this.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LOCALES = ("en", "zh")
"""The languages every user-facing text exists in; English is the contract's own fields."""
DEFAULT = "en"
ENV_VARS = ("LC_ALL", "LC_MESSAGES", "LANG")
"""POSIX order: the first one set decides (``LC_ALL`` overrides ``LC_MESSAGES`` overrides ``LANG``)."""

TEXT_KEYS = ("summary", "explanation", "remediation", "next_checks")
"""Top-level keys whose value is replaced by the translation's (when both have it)."""


def normalize(value: str) -> str | None:
    """``zh``, ``zh-CN``, ``zh_CN.UTF-8``, ``ZH`` -> ``zh``; ``en_US`` -> ``en``; else None."""
    head = value.strip().lower().replace("-", "_").split(".")[0].split("_")[0]
    return head if head in LOCALES else None


def resolve_lang(option: str | None, configured: str | None, env: Mapping[str, str]) -> str:
    """The language to show: an explicit ``--lang`` wins, then the config (``alerts.locale``),
    then the environment's locale (``zh*`` -> ``zh``, anything else -> ``en``).

    An explicit option or configured value that names no known language is a ValueError (a
    typo must not silently give English); a stranger environment (``C``, ``POSIX``, ``de_DE``)
    is only a hint and gives English.
    """
    for where, value in (("--lang", option), ("locale", configured)):
        if value is not None and value.strip():
            lang = normalize(value)
            if lang is None:
                raise ValueError(f"{where}: unknown language {value!r} (known: {', '.join(LOCALES)})")
            return lang
    for name in ENV_VARS:
        value = env.get(name, "")
        if value:
            return "zh" if value.strip().lower().startswith("zh") else DEFAULT
    return DEFAULT


def localize(diagnosis: Mapping[str, Any] | None, lang: str) -> dict[str, Any] | None:
    """The diagnosis JSON dict as a reader of ``lang`` should see it: a new dict (the input is
    not changed) whose top-level texts, evidence ``fact``s and contradictions' ``said`` are
    those of ``translations[lang]``, with ``"locale": lang`` added.

    - ``lang == "en"`` or a diagnosis without that translation (stored before translations
      existed): the English texts, unchanged; ``locale`` then says ``"en"``.
    - Stable ids (``root_cause``, ``rule``, evidence ``source``/``data``, contradiction ``id``)
      and ``translations`` itself are kept as they are: JSON output keeps its ids and field names.
    - Per item: an evidence item without a translated fact in ``translations[lang].evidence``
      takes its own ``translations[lang]`` (evidence items may carry one), else stays English;
      a list of the wrong length (a hand-edited store row) replaces only the items it has.
    - An unknown ``lang`` is a ValueError (``resolve_lang`` never returns one).
    """
    if lang not in LOCALES:
        raise ValueError(f"unknown language {lang!r} (known: {', '.join(LOCALES)})")
    if diagnosis is None:
        return None
    out = dict(diagnosis)
    translations = diagnosis.get("translations")
    texts = translations.get(lang) if isinstance(translations, Mapping) and lang != DEFAULT else None
    if not isinstance(texts, Mapping):
        out["locale"] = DEFAULT
        return out
    for key in TEXT_KEYS:
        value = texts.get(key)
        if key in out and isinstance(value, str | list) and value:
            out[key] = list(value) if isinstance(value, list) else value
    out["evidence"] = _facts(diagnosis.get("evidence"), texts.get("evidence"), lang)
    if isinstance(diagnosis.get("contradictions"), list):
        said = texts.get("contradictions")
        out["contradictions"] = [
            {**c, "said": said[i]}
            if isinstance(said, list) and _has(said, i) and isinstance(c, Mapping)
            else c
            for i, c in enumerate(diagnosis["contradictions"])
        ]
    out["locale"] = lang
    return out


def _has(items: object, i: int) -> bool:
    return isinstance(items, list) and i < len(items) and isinstance(items[i], str) and bool(items[i])


def _facts(evidence: object, facts: object, lang: str) -> Any:
    if not isinstance(evidence, list):
        return evidence
    out: list[Any] = []
    for i, item in enumerate(evidence):
        if not isinstance(item, Mapping):
            out.append(item)
            continue
        own = item.get("translations")
        if isinstance(facts, list) and _has(facts, i):
            fact = facts[i]
        elif isinstance(own, Mapping) and isinstance(own.get(lang), str) and own.get(lang):
            fact = own[lang]
        else:
            fact = item.get("fact")
        out.append({**item, "fact": fact})
    return out
