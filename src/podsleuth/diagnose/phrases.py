"""Evidence sentences as data: every sentence the chain says, in every language (issue 18).

The chain words what it found the way an engineer writes it down ("PVC shop/data is Pending");
a Chinese SRE reads the same finding in Chinese. The sentences therefore live in one catalogue,
``data/evidence/phrases.yaml`` (id -> ``{en, zh}``), and the code only names a phrase and hands
it the cluster data: ``phrase("pvc.not-bound", namespace=ns, claim=name)``. Both languages are
rendered at once into the ``Evidence`` (English in ``fact``, the contract; the others in
``translations``), so a stored diagnosis can be shown in either language later.

The catalogue is validated on load like every shipped data file (``podsleuth.datafiles``:
unknown keys, a missing language, placeholders that differ between the languages or that are
not plain ``{name}`` are errors naming the file and the phrase);
``tests/i18n/test_phrases.py`` finds every ``phrase("id", ...)`` call in the package and checks
that the id exists and the arguments are exactly the phrase's placeholders, so a typo cannot
reach a diagnosis.

Arguments are cluster data, inserted verbatim (the renderers escape them): a ``str`` or number
as it is, ``None`` as ``?``, a list joined the language's way, and a ``Phrase`` (a sub-sentence,
e.g. an optional clause) rendered in the same language.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, StringConstraints, model_validator

from podsleuth.datafiles import read_yaml, validated
from podsleuth.diagnose.localized import same_placeholders
from podsleuth.errors import KnowledgeBaseError
from podsleuth.locale import DEFAULT, LOCALES

_SLOT = re.compile(r"\{(\w+)\}")
JOIN = {"en": ", ", "zh": "、"}
"""How a list argument is joined in each language."""
SPACED = frozenset({"zh"})
"""Languages whose text puts a space between Han characters and Latin letters or digits (the
usual Chinese typography): added where the template meets an argument, never inside one."""
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z0-9]")
UNKNOWN = "?"
"""What a ``None`` argument renders as (cluster data that was not there)."""


@dataclass(frozen=True, slots=True)
class Phrase:
    """A catalogue sentence with its arguments, not yet rendered (it is rendered per language)."""

    id: str
    args: Mapping[str, object] = field(default_factory=dict)

    def render(self, lang: str = DEFAULT) -> str:
        """The sentence in ``lang`` (English for a language the catalogue does not have)."""
        entry = catalogue()[self.id]
        template = entry.get(lang) or entry[DEFAULT]
        spaced = lang in SPACED

        def fill(m: re.Match[str]) -> str:
            value = _value(self.args[m.group(1)], lang)
            if spaced and value:  # "读取Pod a/b失败" -> "读取 Pod a/b 失败": space only at the joints
                if m.start() > 0 and _HAN.match(template[m.start() - 1]) and _LATIN.match(value[0]):
                    value = " " + value
                end = m.end()
                if end < len(template) and _HAN.match(template[end]) and _LATIN.match(value[-1]):
                    value += " "
            return value

        return _SLOT.sub(fill, template)

    def texts(self) -> dict[str, str]:
        """The sentence in every language: ``{"en": ..., "zh": ...}``."""
        return {lang: self.render(lang) for lang in LOCALES}


def phrase(pid: str, /, **args: object) -> Phrase:
    """The phrase ``pid`` with its arguments; a ValueError when the id is unknown or the
    arguments are not exactly its placeholders (a programming error the tests catch)."""
    entry = catalogue().get(pid)
    if entry is None:
        raise ValueError(f"unknown evidence phrase {pid!r}")
    wanted = slots(entry[DEFAULT])
    if set(args) != wanted:
        raise ValueError(f"evidence phrase {pid!r} takes {sorted(wanted)}, got {sorted(args)}")
    return Phrase(pid, args)


def slots(template: str) -> set[str]:
    return set(_SLOT.findall(template))


def _value(value: object, lang: str) -> str:
    if value is None:
        return UNKNOWN
    if isinstance(value, Phrase):
        return value.render(lang)
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence | set | frozenset):
        return JOIN.get(lang, JOIN[DEFAULT]).join(_value(v, lang) for v in value)
    return str(value)


# ---- the catalogue -----------------------------------------------------------------------------


def packaged_file() -> Traversable:
    return resources.files("podsleuth").joinpath("data", "evidence", "phrases.yaml")


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """The packaged catalogue, loaded and checked once per process."""
    return load_phrases(packaged_file())


PhraseId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:[.-][a-z0-9]+)*$")]
"""Lowercase words joined by '.' or '-': ``pvc.not-bound``."""


class PhraseTexts(BaseModel, extra="forbid", frozen=True):
    """One sentence in every language of ``LOCALES``, with the same plain ``{name}`` slots."""

    en: str
    zh: str

    @model_validator(mode="after")
    def _same_sentence(self) -> PhraseTexts:
        texts = {lang: getattr(self, lang) for lang in LOCALES}
        for lang, text in texts.items():
            if not text.strip():
                raise ValueError(f"{lang}: expected a non-empty string")
            if "{" in _SLOT.sub("", text) or "}" in _SLOT.sub("", text):
                raise ValueError(f"{lang}: placeholders are plain {{name}} (no fallbacks, no stray braces)")
        for lang in LOCALES:
            if lang != DEFAULT:
                same_placeholders(texts[DEFAULT], texts[lang], where=lang)
        return self


class PhraseCatalog(BaseModel, extra="forbid", frozen=True):
    phrases: dict[PhraseId, PhraseTexts]


def load_phrases(source: Traversable | Path) -> dict[str, dict[str, str]]:
    """Parse and check a phrase catalogue; KnowledgeBaseError naming the file and the phrase."""
    where = f"evidence phrases {source}"
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise KnowledgeBaseError(f"{where}: cannot load: {' '.join(str(e).split())}") from e
    parsed = validated(PhraseCatalog, read_yaml(text, where=where), where=where)
    return {pid: {lang: getattr(texts, lang) for lang in LOCALES} for pid, texts in parsed.phrases.items()}
