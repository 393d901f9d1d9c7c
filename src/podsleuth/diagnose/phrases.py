"""Evidence sentences as data: every sentence the chain says, in every language (issue 18).

The chain words what it found the way an engineer writes it down ("PVC shop/data is Pending");
a Chinese SRE reads the same finding in Chinese. The sentences therefore live in one catalogue,
``data/evidence/phrases.yaml`` (id -> ``{en, zh}``), and the code only names a phrase and hands
it the cluster data: ``phrase("pvc.not-bound", namespace=ns, claim=name)``. Both languages are
rendered at once into the ``Evidence`` (English in ``fact``, the contract; the others in
``translations``), so a stored diagnosis can be shown in either language later.

The catalogue is checked on load (unknown keys, a missing language, placeholders that differ
between the languages or that are not plain ``{name}`` are errors naming the phrase);
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

from podsleuth.datafiles import read_yaml
from podsleuth.diagnose.localized import same_placeholders
from podsleuth.errors import KnowledgeBaseError
from podsleuth.locale import DEFAULT, LOCALES

_ID = re.compile(r"^[a-z0-9]+(?:[.-][a-z0-9]+)*$")
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


def load_phrases(source: Traversable | Path) -> dict[str, dict[str, str]]:
    """Parse and check a phrase catalogue; KnowledgeBaseError naming the file and the phrase."""
    name = str(source)
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise KnowledgeBaseError(f"evidence phrases {name}: cannot load: {' '.join(str(e).split())}") from e
    doc = read_yaml(text, where=f"evidence phrases {name}")
    if not isinstance(doc, dict) or set(doc) != {"phrases"} or not isinstance(doc["phrases"], dict):
        raise KnowledgeBaseError(f"evidence phrases {name}: expected one top-level mapping 'phrases'")
    out: dict[str, dict[str, str]] = {}
    for pid, entry in doc["phrases"].items():
        try:
            out[str(pid)] = _checked(pid, entry)
        except ValueError as e:
            raise KnowledgeBaseError(f"evidence phrases {name}: phrase {pid!r}: {e}") from e
    return out


def _checked(pid: object, entry: object) -> dict[str, str]:
    if not isinstance(pid, str) or not _ID.match(pid):
        raise ValueError("ids are lowercase words joined by '.' or '-'")
    if not isinstance(entry, dict):
        raise ValueError("expected a mapping of language -> text")
    missing, extra = set(LOCALES) - set(entry), set(entry) - set(LOCALES)
    if missing or extra:
        raise ValueError(f"languages missing: {sorted(missing) or '-'}; unknown keys: {sorted(extra) or '-'}")
    texts: dict[str, str] = {}
    for lang in LOCALES:
        text = entry[lang]
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{lang}: expected a non-empty string")
        if _SLOT.sub("", text).count("{") or _SLOT.sub("", text).count("}"):
            raise ValueError(f"{lang}: placeholders are plain {{name}} (no fallbacks, no stray braces)")
        texts[lang] = text
    for lang in LOCALES:
        if lang != DEFAULT:
            same_placeholders(texts[DEFAULT], texts[lang], where=lang)
    return texts
