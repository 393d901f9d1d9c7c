"""The console in Chinese (issue 18): the diagnosis itself, not only the page's chrome.

The store is the one ``watch --demo`` writes (the real chain: signatures, API facts, node agent),
so the Chinese texts checked here are those the producer stored beside the English; the page's
visible text is held to the same mechanical check as the knowledge base (tests/i18n/lint_zh.py),
with the cluster's own text (messages, events, logs, names, commands) taken out first.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from podsleuth.console.i18n import LANGS, WORDS
from tests.console.conftest import HOSTILE, Console
from tests.i18n.lint_zh import english_runs, has_chinese

CLUSTER_TEXT = "#message, #events, #logs, .mono, code, pre, .chip, .badge, table.kv, .sev, script"
"""What the cluster or the contract's ids wrote: kept verbatim in every language."""
VISIBLE_PROSE = f"""() => {{
  const main = document.querySelector("main").cloneNode(true);
  main.querySelectorAll({json.dumps(CLUSTER_TEXT)}).forEach((e) => e.remove());
  main.querySelectorAll("td, th, li, dt, dd, p, h1, h2, h3, summary, label, option, div")
    .forEach((e) => e.append("\\n"));
  return main.textContent;
}}"""


def api(console: Console, query: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{console.url}/api/incidents?{query}", timeout=10) as answer:
        body: dict[str, Any] = json.load(answer)
    return body


def founding(console: Console, lang: str) -> dict[str, Any]:
    body = api(console, f"state=all&q=dashboard&lang={lang}")
    return next(i for i in body["incidents"] if i["category"] == "container-start")


def english_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and english_runs(line)]


def test_every_console_word_has_both_forms() -> None:
    for key, forms in WORDS.items():
        assert set(forms) == set(LANGS), key
        assert has_chinese(forms["zh"]) or not english_runs(forms["zh"]), key
        assert not has_chinese(forms["en"]) or key == "language", key


def test_api_localizes_like_incidents_show(console: Console) -> None:
    en, zh = founding(console, "en"), founding(console, "zh")
    stored = en["diagnosis"]["translations"]["zh"]
    assert zh["diagnosis"]["summary"] == stored["summary"] and has_chinese(stored["summary"])
    assert zh["diagnosis"]["remediation"] == stored["remediation"]
    assert [e["fact"] for e in zh["diagnosis"]["evidence"]] == stored["evidence"]
    assert zh["diagnosis"]["locale"] == "zh" and en["diagnosis"]["locale"] == "en"
    assert not has_chinese(en["diagnosis"]["summary"])
    same_ids = ("id", "category", "severity", "fingerprint")
    assert {k: zh[k] for k in same_ids} == {k: en[k] for k in same_ids}
    assert zh["diagnosis"]["root_cause"] == en["diagnosis"]["root_cause"]
    sources = [[e["source"] for e in i["diagnosis"]["evidence"]] for i in (zh, en)]
    assert sources[0] == sources[1]
    with pytest.raises(urllib.error.HTTPError) as refused:
        api(console, "lang=klingon")
    refused.value.close()
    assert refused.value.code == 400


def test_zh_incident_page_tells_the_whole_diagnosis_in_chinese(console: Console, page: Any) -> None:
    stored = founding(console, "zh")
    page.goto(f"{console.url}/incidents/{stored['id']}?lang=zh")
    page.wait_for_selector("#evidence")
    dx = stored["diagnosis"]
    assert dx["summary"] in page.inner_text("#root-cause")
    remediation = page.text_content("#remediation") or ""
    assert "删除节点" in remediation and "findmnt" in remediation
    facts = [f.text_content() for f in page.query_selector_all("#evidence .fact")]
    assert facts == [e["fact"] for e in dx["evidence"]] and all(has_chinese(f or "") for f in facts)
    assert has_chinese(page.text_content("#next-checks") or "")
    prose = page.evaluate(VISIBLE_PROSE)
    assert has_chinese(prose)
    assert english_lines(prose) == []
    assert page.errors == []


def test_en_incident_page_has_no_chinese(console: Console, page: Any) -> None:
    stored = founding(console, "en")
    page.goto(f"{console.url}/incidents/{stored['id']}?lang=en")
    page.wait_for_selector("#evidence")
    assert stored["diagnosis"]["summary"] in page.inner_text("#root-cause")
    assert not has_chinese(page.text_content("main") or "")


def test_zh_list_and_node_pages(console: Console, page: Any) -> None:
    page.goto(console.url + "/?lang=zh&state=all")
    page.wait_for_selector("#rows .row-summary")
    summaries = [s.text_content() or "" for s in page.query_selector_all("#rows .row-summary")]
    assert summaries and all(has_chinese(s) for s in summaries if "<img" not in s)
    assert "严重" in page.inner_text("#rows")
    assert english_lines(page.evaluate(VISIBLE_PROSE)) == []
    node = founding(console, "zh")["node"]
    page.goto(f"{console.url}/nodes/{node}?lang=zh")
    facts = [f.text_content() or "" for f in page.query_selector_all("#findings .fact")]
    assert facts and all(has_chinese(f) for f in facts)
    page.goto(console.url + "/?lang=en&state=all")
    assert not has_chinese(page.text_content("main") or "")


def test_hostile_text_in_a_translation_is_still_text(console: Console, page: Any) -> None:
    page.goto(console.url + "/incidents/b00b5a1e0001?lang=zh")
    page.wait_for_selector("#root-cause")
    assert f"概述 {HOSTILE}" in page.inner_text("#root-cause")
    assert HOSTILE in (page.text_content("#remediation") or "")
    page.goto(console.url + "/?lang=zh&state=all")
    page.wait_for_selector("#rows .row-summary")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.query_selector("img[src=x]") is None and page.query_selector("main script") is None
    assert page.errors == []
