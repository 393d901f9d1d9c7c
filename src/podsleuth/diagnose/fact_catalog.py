"""The declared facts (``data/rules/facts.yaml``): the names rules and templates may use.

Rules name facts by string; a typo in a rule's ``fact:`` never matches and a typo in a template
renders ``?``, both silently. So every fact the chain can produce is declared once, with its
type, and the rules are checked against the declaration when they load: an unknown name or a
condition that cannot fit the fact's type (``gte`` on a list, ``is: true`` on a str) is a
``KnowledgeBaseError`` naming the file, the rule and the fact, with the closest declared name.
``tests/diagnose/test_fact_catalog.py`` keeps the declaration complete (every fact the code
writes is declared, every declared fact is written somewhere).
"""

from __future__ import annotations

import difflib
import functools
import re
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from podsleuth.datafiles import read_yaml, validated
from podsleuth.diagnose.localized import placeholders

FactType = Literal["bool", "str", "int", "float", "list", "dict"]
ORIGINS = frozenset({"subject", "group", "api", "node", "derived"})
"""Where a fact comes from (besides ``extractor:NAME``): see the file's header."""
_PYTHON: dict[str, tuple[type, ...]] = {
    "bool": (bool,),
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "list": (list, tuple),
    "dict": (dict,),
}


class Fact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    type: FactType | tuple[FactType, ...]
    from_: tuple[str, ...] = Field(alias="from", min_length=1)
    meaning: str = Field(min_length=1)

    @field_validator("from_")
    @classmethod
    def _known_origins(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for origin in v:
            if origin not in ORIGINS and not re.fullmatch(r"extractor:[a-z_]+", origin):
                raise ValueError(
                    f"unknown origin {origin!r} (subject, group, extractor:NAME, api, node, derived)"
                )
        return v

    @property
    def types(self) -> tuple[str, ...]:
        return self.type if isinstance(self.type, tuple) else (self.type,)

    def fits(self, value: object) -> bool:
        """Can a value of this fact equal ``value`` (``is``/``not``/``in`` tests)?"""
        if isinstance(value, bool):
            return "bool" in self.types
        return any(isinstance(value, _PYTHON[t]) and not (t != "bool" and isinstance(value, bool))
                   for t in self.types)  # fmt: skip


class FactCatalog(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    facts: tuple[Fact, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> FactCatalog:
        names = [f.name for f in self.facts]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"facts declared twice: {', '.join(dupes)}")
        return self

    @functools.cached_property
    def by_name(self) -> dict[str, Fact]:
        return {f.name: f for f in self.facts}

    def unknown(self, name: str) -> str | None:
        """None for a declared fact, else the error: the name and the closest declared ones."""
        if name in self.by_name:
            return None
        close = difflib.get_close_matches(name, self.by_name, n=2)
        hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
        return f"unknown fact {name!r}{hint}"

    def misfit(self, name: str, test: str, value: object) -> str | None:
        """None when a condition ``test: value`` on ``name`` can hold, else the error."""
        problem = self.unknown(name)
        if problem is not None:
            return problem
        fact = self.by_name[name]
        kinds = "/".join(fact.types)
        if test == "present":
            return None
        if test == "gte":
            ok = any(t in ("int", "float") for t in fact.types)
        elif test == "contains":
            ok = any(t in ("str", "list") for t in fact.types)
        elif test == "in":
            ok = isinstance(value, list) and all(fact.fits(v) for v in value)
        else:  # is / not
            ok = fact.fits(value)
        return None if ok else f"fact {name!r} is {kinds}: '{test}: {value!r}' cannot fit it"

    def template(self, text: str) -> str | None:
        """None when every ``{placeholder}`` of a template is a declared fact, else the error."""
        for name in sorted(placeholders(text)):
            problem = self.unknown(name)
            if problem is not None:
                return f"placeholder {{{name}}}: {problem}"
        return None

    @functools.cached_property
    def _by_origin(self) -> dict[str, frozenset[str]]:
        origins = {o for f in self.facts for o in f.from_}
        return {o: frozenset(f.name for f in self.facts if o in f.from_) for o in origins}

    def from_origin(self, origin: str) -> frozenset[str]:
        """The facts one origin (``subject``, ``extractor:oom``...) produces."""
        return self._by_origin.get(origin, frozenset())


SOURCE = "rules/facts.yaml"


def parse_facts(text: str, *, source: str = SOURCE) -> FactCatalog:
    where = f"facts file {source}"
    return validated(FactCatalog, read_yaml(text, where=where), where=where)


@functools.cache
def load_facts() -> FactCatalog:
    """The packaged declaration, parsed once per process."""
    path = resources.files("podsleuth.data").joinpath(SOURCE)
    return parse_facts(path.read_text(encoding="utf-8"))
