"""The texts the diagnoser words in code (phrase facts, its own evidence sentences) exist in every
language, and the Chinese forms pass the same mechanical check as the knowledge base's."""

from __future__ import annotations

from podsleuth.diagnose.translate import OTHER, PHRASES, SAID, phrases
from podsleuth.locale import LOCALES
from tests.i18n.lint_zh import english_runs, has_chinese

FACTS = {
    "daemon_nonempty": True,
    "daemon_oom_killed": True,
    "oom_comm": "ceph-fuse",
    "oom_pid": 4100,
    "oom_time": "2026-01-01T00:00:00Z",
    "csi_driver": "cephfs.csi.ceph.com",
    "pv_mounter": None,
    "plugin_pod": "ceph-csi/csi-cephfsplugin-7xk2p",
    "plugin_restarts": 1,
    "plugin_last_reason": "OOMKilled",
    "node_arch": "arm64",
    "dependency_words": "cannot connect to 10.0.0.5:3306 (connection refused)",
    "dependency_kind": "connect",
    "dependency_target": "10.0.0.5:3306",
    "dependency_error": "connection refused",
    "registry_words": "not a known public registry: most likely private",
    "registry_kind": "private",
    "image_platform_peers": ["shop/web-2 on node-7 (amd64)", "shop/web-3 on node-8 (arch unknown)"],
}


def test_every_code_text_exists_in_every_language() -> None:
    assert set(PHRASES) == set(LOCALES)
    assert all(set(PHRASES[lang]) == set(PHRASES["en"]) for lang in LOCALES)
    assert all(set(texts) == set(LOCALES) for texts in SAID.values())


def test_zh_forms_have_no_english_run_and_en_forms_no_chinese() -> None:
    for lang in OTHER:
        zh = [*PHRASES[lang].values(), *(t[lang] for t in SAID.values())]
        rendered = phrases(FACTS, lang)
        zh += [v for value in rendered.values() for v in (value if isinstance(value, list) else [value])]
        assert all(has_chinese(t) for t in zh if t), zh
        assert [r for t in zh for r in english_runs(t)] == []
    english = phrases(FACTS, "en")
    assert not any(has_chinese(str(v)) for v in english.values())
    assert english["oom_because"] == " (the kernel OOM-killed ceph-fuse pid 4100 at 2026-01-01T00:00:00Z)"
    assert english["driver_clause"] == " (cephfs.csi.ceph.com, mounter unknown)"


def test_phrase_facts_agree_across_languages() -> None:
    """A phrase is empty in one language exactly when it is in the other (same facts decide)."""
    quiet = {"daemon_nonempty": False, "daemon_oom_killed": False}
    for facts in (FACTS, quiet):
        en = phrases(facts, "en")
        for lang in OTHER:
            other = phrases(facts, lang)
            assert {k for k, v in en.items() if v} == {k for k, v in other.items() if v and k in en}
    zh = phrases(FACTS, "zh")
    assert zh["dependency_words"] == "无法连接 10.0.0.5:3306（connection refused）"
    assert zh["image_platform_peers"] == [
        "shop/web-2（节点 node-7，amd64）",
        "shop/web-3（节点 node-8，架构未知）",
    ]
