"""The evidence phrase catalogue: every phrase the code uses exists, with the arguments it takes;
every phrase is used; the Chinese has no English run and the English no Chinese; the loader is
strict; rendering keeps cluster data verbatim."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import podsleuth
from podsleuth.diagnose.evidence import Case, DiagnosisRequest, Evidence
from podsleuth.diagnose.phrases import Phrase, catalogue, load_phrases, packaged_file, phrase, slots
from podsleuth.errors import KnowledgeBaseError
from tests.i18n.lint_zh import english_runs, has_chinese, lint_file, prose_words

PACKAGE = Path(podsleuth.__file__).parent
CATALOGUE = Path(str(packaged_file()))


def _calls() -> list[tuple[str, int, ast.Call]]:
    """Every ``phrase(...)`` call in the package, with its file and line."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "phrase":
                out.append((str(path.relative_to(PACKAGE)), node.lineno, node))
    return out


CALLS = _calls()


def test_the_scan_finds_the_call_sites() -> None:
    files = {f for f, _, _ in CALLS}
    assert len(CALLS) > 60
    modules = ("api_link", "api_pods", "api_images", "api_context", "node_link", "node_agent")
    assert {f"diagnose/{m}.py" for m in modules} <= files


def test_every_phrase_the_code_uses_exists_with_exactly_its_arguments() -> None:
    wrong = []
    for where, line, call in CALLS:
        if (
            not call.args
            or not isinstance(call.args[0], ast.Constant)
            or not isinstance(call.args[0].value, str)
        ):
            wrong.append(f"{where}:{line}: the phrase id is not a literal string")
            continue
        pid = call.args[0].value
        if pid not in catalogue():
            wrong.append(f"{where}:{line}: unknown phrase {pid!r}")
            continue
        if any(k.arg is None for k in call.keywords) or len(call.args) > 1:
            wrong.append(f"{where}:{line}: {pid}: arguments must be keywords, no ** unpacking")
            continue
        given, wanted = {k.arg for k in call.keywords}, slots(catalogue()[pid]["en"])
        if given != wanted:
            wrong.append(
                f"{where}:{line}: {pid}: takes {sorted(wanted)}, given {sorted(str(g) for g in given)}"
            )
    assert not wrong, "\n".join(wrong)


def test_every_phrase_of_the_catalogue_is_used() -> None:
    used = {c.args[0].value for _, _, c in CALLS if c.args and isinstance(c.args[0], ast.Constant)}
    assert sorted(set(catalogue()) - used) == []


def test_no_evidence_sentence_is_built_as_english_text() -> None:
    """``case.add`` / ``case.gap`` get a phrase, not an f-string or literal (those have no zh)."""
    wrong = []
    for path in sorted((PACKAGE / "diagnose").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("add", "gap")
                and len(node.args) >= 2
                and isinstance(node.args[0], ast.Constant | ast.JoinedStr)  # a source: evidence
                and isinstance(node.args[1], ast.JoinedStr | ast.Constant | ast.BinOp)
            ):
                wrong.append(f"{path.name}:{node.lineno}")
    assert not wrong


def test_the_chinese_has_no_english_run_and_the_english_no_chinese() -> None:
    bad = [f"{pid}: zh: {run!r}" for pid, t in catalogue().items() for run in english_runs(t["zh"])]
    bad += [f"{pid}: en has Chinese" for pid, t in catalogue().items() if has_chinese(t["en"])]
    assert not bad, "\n".join(bad)
    assert lint_file(CATALOGUE) == []  # the CLI the translators run says the same


def test_every_chinese_sentence_is_chinese() -> None:
    """A short zh text copied from the English passes the run check (under three words): a zh
    text with any English word left must hold Chinese too."""
    assert [pid for pid, t in catalogue().items() if prose_words(t["zh"]) and not has_chinese(t["zh"])] == []
    assert prose_words("pod {namespace}/{name}") == ["pod"] and prose_words("Pod {namespace}/{name}") == []


# ---- rendering --------------------------------------------------------------------------------


def test_arguments_are_cluster_data_verbatim_in_both_languages() -> None:
    hostile = "ns/<b>x</b> {pod} 'quoted' ÿ"
    p = phrase("pvc.missing", namespace=hostile, claim="data-0", volume=None)
    assert p.render("en") == f"PVC {hostile}/data-0 (volume ?) does not exist"
    assert p.render("zh") == f"PVC {hostile}/data-0（卷 ?）不存在"


def test_lists_nested_phrases_and_joint_spacing() -> None:
    p = phrase("node.state", node="n1", ready="False", pressure=["MemoryPressure", "DiskPressure"])
    assert p.texts() == {
        "en": "node n1: Ready=False, MemoryPressure, DiskPressure",
        "zh": "节点 n1：Ready=False，MemoryPressure、DiskPressure",
    }
    gone = phrase("api.unreadable", what=phrase("object.pod", namespace="shop", name="a"))
    assert gone.texts() == {"en": "could not read pod shop/a", "zh": "读取 Pod shop/a 失败"}
    assert phrase("api.unreadable", what=phrase("object.nodes")).render("zh") == "读取节点列表失败"


def test_a_wrong_call_fails_loudly() -> None:
    with pytest.raises(ValueError, match="unknown evidence phrase"):
        phrase("no.such-phrase")
    with pytest.raises(ValueError, match=r"takes \['node'\], got \['nod'\]"):
        phrase("node.gone", nod="n1")


def test_case_keeps_english_in_fact_and_the_rest_in_translations() -> None:
    case = Case(DiagnosisRequest(category="volume-mount", reason="FailedMount", message="m"))
    case.add("api:node", phrase("node.gone", node="n1"), {"node": "n1"}, node_exists=False)
    case.gap("node-agent", phrase("agent.no-node"))
    e, gap = case.evidence
    assert (e.fact, e.translations, e.text("zh"), e.text("fr")) == (
        "node n1 no longer exists", {"zh": "节点 n1 已不存在"}, "节点 n1 已不存在", "node n1 no longer exists"
    )  # fmt: skip
    assert e.to_dict() == {"source": "api:node", "fact": "node n1 no longer exists", "data": {"node": "n1"},
                           "translations": {"zh": "节点 n1 已不存在"}}  # fmt: skip
    assert gap.data == {"unavailable": True} and case.gaps == ["node-agent"] and has_chinese(gap.text("zh"))
    assert case.facts["node_exists"] is False
    said = Evidence.said("api:pvc", phrase("pvc.not-bound", namespace="a", claim="b"))
    assert (said.fact, said.translations, said.data) == (
        "PVC a/b is not bound",
        {"zh": "PVC a/b 尚未绑定"},
        {},
    )
    assert Evidence("api:pvc", "x").text("zh") == "x", "an item stored before translations reads in English"


# ---- the loader -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("phrases:\n  a.b: {en: 'x {y}'}\n", "phrases.a.b.zh: Field required"),
        ("phrases:\n  a.b: {en: 'x {y}', zh: '叉 {z}'}\n", "placeholders differ"),
        ("phrases:\n  a.b: {en: 'x {y|none}', zh: '叉 {y|无}'}\n", "plain \\{name\\}"),
        ("phrases:\n  a.b: {en: 'x', zh: '叉', de: 'x'}\n", "phrases.a.b.de: Extra inputs"),
        ("phrases:\n  A_b: {en: 'x', zh: '叉'}\n", "phrases.A_b.\\[key\\]: String should match pattern"),
        ("phrases:\n  a.b: {en: '', zh: '叉'}\n", "non-empty"),
        ("other: {}\n", "phrases: Field required; other: Extra inputs"),
        ("phrases: [\n", "invalid YAML"),
    ],
)
def test_the_loader_rejects_a_bad_catalogue(tmp_path: Path, body: str, error: str) -> None:
    f = tmp_path / "phrases.yaml"
    f.write_text(body, encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match=error) as e:
        load_phrases(f)
    assert str(f) in str(e.value)


def test_the_packaged_catalogue_loads_and_phrases_are_values() -> None:
    assert len(load_phrases(packaged_file())) == len(catalogue()) > 80
    assert phrase("agent.busy") == Phrase("agent.busy", {})


def test_a_phrase_has_a_field_for_every_language() -> None:
    """Adding a language to ``LOCALES`` must add it to the catalogue's model too."""
    from podsleuth.diagnose.phrases import PhraseTexts
    from podsleuth.locale import LOCALES

    assert set(PhraseTexts.model_fields) == set(LOCALES)
