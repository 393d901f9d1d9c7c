"""The mechanical zh check itself: what it must flag, and what a correct translation keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.i18n.lint_zh import english_runs, has_chinese, lint_file, main


@pytest.mark.parametrize(
    ("text", "run"),
    [
        ("kubelet could not stat {missing_path} while building the container config",
         "kubelet could not stat while building the container config"),
        ("Raise the memory limit of container cart", "Raise the memory limit of container cart"),
        ("Pod 处于 CrashLoopBackOff 状态，守护进程 was restarted later", "was restarted later"),
        ("把 {plugin_pod} 的内存限制调高（当前 {plugin_memory_limit|no limit at all}）", "no limit at all"),
        ("执行 stat /x（transport endpoint is not connected）", "transport endpoint is not connected"),
        ("the mount is dead on this node", "the mount is dead on this node"),
        ("delete the Pod and recreate it", "delete the and recreate it"),  # a kind does not break a run
        ("删除 `kubectl` 中 the stale bind mounts", "the stale bind mounts"),
        ("拉取时 Docker Hub 返回 pull access denied", "pull access denied"),  # error text must be quoted
    ],
)  # fmt: skip
def test_english_left_in_chinese_is_flagged(text: str, run: str) -> None:
    assert run in english_runs(text)


@pytest.mark.parametrize(
    "text",
    [
        "runc 无法把 {mount_source} 挂载到 {mount_target}：{errno_text}",
        "删除节点 {node} 上的 Pod {namespace}/{pod}，让 kubelet 重新挂载卷 {volume|?}",
        "执行 `findmnt -no SOURCE,FSROOT -T {volume_mount_path|<pod volume path>}`（以 //deleted 结尾）",
        "kubectl -n <ns> get events --field-selector involvedObject.name=<pod> -o yaml",
        "容器 cart 超出内存限制 256Mi，被 OOMKilled（exit code 137）",
        "检查 ServiceAccount 的 imagePullSecrets 与 /etc/containerd/config.toml 中的 registry mirror",
        '日志显示 "dial tcp 10.0.0.1:3306: connect: connection refused"，依赖不可达',
        "日志显示 “no space left on device” 或 'read-only file system'",
        "使用 ~/x/y 或 ./run.sh，参见 https://kubernetes.io/docs/concepts/storage/volumes/ 的说明",
        "ENOTCONN、ESTALE、EIO：FUSE 守护进程 ceph-fuse 已退出；见 csi.juicefs.com 与 spec.nodeName",
        "mount --bind {volume_mount_path|<pod volume path>} /tmp/bindtest 失败",
        "ls -l /var/lib/kubelet/pods/<uid>/volume-subpaths/",
        "拉取 docker.io/library/nginx:1.25 时 Docker Hub 返回 `pull access denied`",
        "",
    ],
)
def test_a_correct_translation_passes(text: str) -> None:
    assert english_runs(text) == []


def test_two_words_are_not_a_run() -> None:
    assert english_runs("退出码 exit code 137，见 restart count") == []
    assert english_runs("退出码 exit code 137 per container") == ["exit code per container"]


def test_chinese_is_found_in_han_and_full_width_punctuation() -> None:
    assert has_chinese("节点") and has_chinese("ready：false") and has_chinese("（x）")
    assert not has_chinese("node n1: Ready=False (KubeletNotReady) – “quoted”")


def test_the_cli_lints_zh_blocks_and_english_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "x.yaml"
    f.write_text(
        "signatures:\n"
        "- id: a\n  summary: 'runc failed：{x}'\n  remediation: ['Delete pod {p}']\n"
        "  zh: {summary: 'runc 失败 {x}', remediation: ['then delete the pod {p}']}\n"
        "- id: b\n  summary: 'no translation here'\n"
        "contradictions:\n- id: c\n  say: 'fine'\n"
        "  zh: {say: '没问题', next_checks: ['kubectl get pod -o yaml']}\n",
        encoding="utf-8",
    )
    out = lint_file(f)
    assert len(out) == 3, out
    assert "a: summary: Chinese in an English text" in out[0]
    assert "a: zh.remediation[0]: English run 'then delete the pod'" in out[1]
    assert out[2].endswith("b: no zh text")
    assert main([str(f)]) == 1 and len(capsys.readouterr().out.splitlines()) == 3
    ok = tmp_path / "ok.yaml"
    ok.write_text("phrases:\n  a.b: {en: 'pod {p} is gone', zh: 'Pod {p} 已不存在'}\n", encoding="utf-8")
    assert main([str(ok)]) == 0
