"""``podsleuth diagnose pod``: the same chain one-shot, text and JSON; a missing pod is exit 2."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from podsleuth.lab.fake_apiserver import FakeApiServer
from tests.diagnose.chain import founding
from tests.diagnose.chain.conftest import event, node


async def _podsleuth(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "podsleuth",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_diagnose_pod_text_json_and_not_found(tmp_path: Path) -> None:
    config = tmp_path / "podsleuth.yaml"
    config.write_text("node_agents: {discovery: static, urls: {node-3: 'http://127.0.0.1:9'}, timeout: 1s}\n")
    async with FakeApiServer(bookmark_interval=None) as api:
        api.put("nodes", node())
        api.put("pods", founding.plugin_pod())
        for plural, obj in founding.objects(1):
            api.put(plural, obj)
        api.put("events", event("app1-5f7b9c8d4-x1", "Failed", "Error: " + founding.message(1)))
        kc = str(api.kubeconfig_path(tmp_path))
        base = (
            "diagnose",
            "pod",
            "app1-5f7b9c8d4-x1",
            "-n",
            "shop",
            "--kubeconfig",
            kc,
            "--config",
            str(config),
        )
        (code, out, err), (jcode, jout, _), (ncode, nout, nerr), (zcode, zout, zerr), (_, zjson, _) = (
            await asyncio.gather(
                _podsleuth(*base, "--lang", "en"),
                _podsleuth(*base, "--output", "json", "--lang", "en"),
                _podsleuth("diagnose", "pod", "nope", "-n", "shop", "--kubeconfig", kc),
                _podsleuth(*base, "--lang", "zh"),
                _podsleuth(*base, "--output", "json", "--lang", "zh"),
            )
        )
    assert code == 0, err
    assert "root cause: stale-fuse-bind-after-daemon-restart" in out
    assert "[api:csi-plugin]" in out and "node agent of node-3 not consulted" in out
    assert "Delete pod shop/app1-5f7b9c8d4-x1 on node node-3" in out
    assert jcode == 0
    obj = json.loads(jout)
    assert (obj["namespace"], obj["pod"], obj["node"]) == ("shop", "app1-5f7b9c8d4-x1", "node-3")
    assert obj["category"] == "container-start" and obj["reason"] == "RunContainerError"
    d = obj["diagnosis"]
    assert set(d) >= {"root_cause", "summary", "confidence", "evidence", "remediation"}
    assert all(set(e) == {"source", "fact", "data"} for e in d["evidence"])
    assert ncode == 2 and nout == ""
    assert nerr.strip() == "podsleuth: error: pod shop/nope not found"
    # the same report in Chinese: headings and the diagnosis's texts, ids and sources unchanged
    assert zcode == 0, zerr
    assert "根因：stale-fuse-bind-after-daemon-restart" in zout and "[api:csi-plugin]" in zout
    assert "证据：" in zout and "处理建议：" in zout and "节点 node-3 上的 Pod shop/app1-5f7b9c8d4-x1" in zout
    assert "Delete pod" not in zout
    zd = json.loads(zjson)["diagnosis"]
    assert zd["locale"] == "zh" and zd["root_cause"] == d["root_cause"]
    assert [e["source"] for e in zd["evidence"]] == [e["source"] for e in d["evidence"]]
    assert zd["summary"] == d["translations"]["zh"]["summary"] != d["summary"]
