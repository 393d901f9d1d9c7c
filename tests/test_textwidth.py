"""Folding text at terminal columns: Chinese breaks between characters, never before a closing
or after an opening punctuation mark; Latin words, paths and commands are never split."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from podsleuth.textwidth import NO_LINE_END, NO_LINE_START, display_width, wrap

SAMPLE = (
    "节点 node-3 上的 Pod shop/app1-5f7b9c8d4-x1 无法启动：fuse.ceph-fuse 守护进程已因 OOM-kill 而重启，"
    "且带 -o nonempty 参数（新 pid 4242），但卷 pv-1（cephfs.csi.ceph.com）仍绑定在已失效的 FUSE 连接上。"
)


def test_chinese_folds_between_characters_within_the_width() -> None:
    lines = wrap(SAMPLE, 40, indent="  ", subsequent="    ")
    assert len(lines) > 3
    assert all(display_width(line) <= 42 for line in lines), lines  # a closing mark may hang over by one
    assert "".join(line.strip() for line in lines).replace(" ", "") == SAMPLE.replace(" ", "")
    assert all(line.strip()[0] not in NO_LINE_START for line in lines[1:])
    assert all(line.strip()[-1] not in NO_LINE_END for line in lines)


def test_english_folds_at_spaces_and_keeps_paths_whole() -> None:
    path = "/data/kubernetes/kubelet/pods/92f2591b/volumes/kubernetes.io~csi/pv-1/mount"
    lines = wrap(f"run `umount -l {path}` on the node, then delete the pod", 30)
    assert any(path in line for line in lines)
    assert wrap("", 30, indent="  ") == ["  "]


@given(st.text(alphabet="ab 节点，（）。", max_size=80), st.integers(min_value=8, max_value=40))
def test_nothing_is_lost_and_lines_stay_near_the_width(text: str, width: int) -> None:
    lines = wrap(text, width)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    for line in lines:
        hanging = 2 * sum(ch in NO_LINE_START for ch in line)  # closing marks stay on their line
        assert display_width(line) <= width + hanging or len(line.split(" ")) == 1
