"""The packaged knowledge base speaks Chinese everywhere: an entry without ``zh`` is a load error,
and every zh text of the shipped files passes the mechanical check (no English sentence left,
no Chinese in the English)."""

from __future__ import annotations

from pathlib import Path

import pytest

from podsleuth.diagnose.rules import parse_rules
from podsleuth.diagnose.signatures import load_signatures, packaged_files
from podsleuth.errors import KnowledgeBaseError
from tests.i18n import lint_zh

DATA = Path(lint_zh.__file__).resolve().parents[2] / "src" / "podsleuth" / "data"
SHIPPED = [*sorted((DATA / "signatures").glob("*.yaml")), DATA / "rules" / "diagnosis.yaml"]

UNTRANSLATED_SIGNATURE = """signatures:
- id: only-english
  category: image-pull
  family: image
  priority: 10
  keywords: [only english]
  patterns: ['only english']
  summary: 'only english'
  root_cause: 'only english'
"""

UNTRANSLATED_RULE = """rules:
- id: only-english
  cause: only-english
  confidence: 0.5
  summary: "only english"
  root_cause: "only english"
  remediation: ["do something"]
"""


def test_every_packaged_entry_has_zh() -> None:
    assert all(s.zh is not None for s in load_signatures(packaged_files(), require_zh=True))


def test_a_signature_without_zh_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "extra.yaml"
    path.write_text(UNTRANSLATED_SIGNATURE)
    with pytest.raises(KnowledgeBaseError, match=r"only-english.*no zh texts"):
        load_signatures([path], require_zh=True)


def test_a_rule_without_zh_is_refused() -> None:
    with pytest.raises(KnowledgeBaseError, match="no zh texts for only-english"):
        parse_rules(UNTRANSLATED_RULE, require_zh=True)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_zh_texts_pass_the_mechanical_check(path: Path) -> None:
    assert lint_zh.lint_file(path) == []
