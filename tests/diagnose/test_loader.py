"""A broken signatures file fails loudly, naming the file and the entry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from podsleuth.diagnose.knowledge import KnowledgeBase
from podsleuth.diagnose.signatures import load_signatures, packaged_files
from podsleuth.errors import KnowledgeBaseError


def entry(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "test-sig",
        "category": "container-start",
        "family": "test",
        "priority": 50,
        "keywords": ["boom"],
        "patterns": ["boom (?P<what>\\w+)"],
        "summary": "boom of {what}",
        "root_cause": "things go boom",
    }
    base.update(overrides)
    return base


def write(tmp_path: Path, name: str, *entries: dict[str, Any]) -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump({"signatures": list(entries)}), encoding="utf-8")
    return p


def test_valid_file_loads_and_matches(tmp_path: Path) -> None:
    kb = KnowledgeBase.from_files([write(tmp_path, "ok.yaml", entry())])
    r = kb.classify("a boom here")
    assert (r.signature, r.facts, r.summary) == ("test-sig", {"what": "here"}, "boom of here")


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"severity": "high"}, "severity: Extra inputs are not permitted"),
        ({"patterns": ["boom (unclosed"]}, "bad regex"),
        ({"require": ["[z-a]"]}, "bad regex"),
        ({"category": "volume-stuff"}, "unknown category 'volume-stuff'"),
        ({"keywords": ["Boom"]}, "must be lowercase"),
        ({"facts": ["horoscope"]}, "unknown fact extractor 'horoscope'"),
        ({"priority": 101}, "priority"),
        ({"id": "Bad_Id"}, "id 'Bad_Id'"),
        ({"summary": "{what.attr}"}, "plain fact name"),
        ({"patterns": ["(?P<BadName>x)"]}, "snake_case"),
        ({"next_checks": {"api": [], "shell": []}}, "next_checks.shell"),
    ],
)
def test_bad_entry_names_file_and_entry(tmp_path: Path, overrides: dict[str, Any], expected: str) -> None:
    good = entry(id="first-sig")
    bad = entry(**overrides)
    path = write(tmp_path, "broken.yaml", good, bad)
    with pytest.raises(KnowledgeBaseError) as ei:
        load_signatures([path])
    msg = str(ei.value)
    assert str(path) in msg
    assert "entry 2" in msg
    assert expected in msg
    assert "\n" not in msg


def test_duplicate_id_across_files_names_both(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", entry())
    b = write(tmp_path, "b.yaml", entry())
    with pytest.raises(
        KnowledgeBaseError, match=r"b\.yaml: duplicate id 'test-sig' \(already defined in .*a\.yaml\)"
    ):
        load_signatures([a, b])


def test_duplicate_id_in_one_file(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", entry(), entry())
    with pytest.raises(KnowledgeBaseError, match="duplicate id 'test-sig'"):
        load_signatures([a])


def test_unknown_top_level_key(tmp_path: Path) -> None:
    p = tmp_path / "top.yaml"
    p.write_text(yaml.safe_dump({"signatures": [entry()], "version": 2}), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match=r"top\.yaml: version: Extra inputs"):
        load_signatures([p])


def test_invalid_yaml(tmp_path: Path) -> None:
    p = tmp_path / "syntax.yaml"
    p.write_text("signatures: [\n  - id: x\n", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match=r"syntax\.yaml: invalid YAML"):
        load_signatures([p])


def test_empty_knowledge_base_is_an_error() -> None:
    with pytest.raises(KnowledgeBaseError, match="no signatures"):
        load_signatures([])


def test_packaged_files_all_load() -> None:
    files = packaged_files()
    assert len(files) >= 5
    sigs = load_signatures(files)
    assert len({s.id for s in sigs}) == len(sigs)


def test_default_is_loaded_once() -> None:
    assert KnowledgeBase.default() is KnowledgeBase.default()
