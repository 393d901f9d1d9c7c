"""The live view in Chinese at narrow widths: Chinese characters take two columns, so every line
is measured as the terminal draws it, and the exit table's columns line up although some rows
carry a Chinese pods column ("3 个 Pod") and others none (issue 18).

The incidents are built directly (the demo run of test_live_view.py covers the real pipeline);
their zh texts are the ``oom-container-limit`` rule's and the founding rule's, rendered.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from podsleuth.cli.render import LiveView
from podsleuth.detect import Incident, IncidentChange
from podsleuth.detect.owner import Owner
from podsleuth.textwidth import display_width
from tests.i18n.lint_zh import english_runs, has_chinese

AT = datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC)


def _diagnosis(cause: str, summary: str, step: str, zh_summary: str, zh_step: str) -> dict[str, Any]:
    return {"root_cause": cause, "summary": summary, "confidence": 0.85, "remediation": [step],
            "translations": {"zh": {"summary": zh_summary, "remediation": [zh_step]}}}  # fmt: skip


OOM = _diagnosis(
    "container-memory-limit",
    "container cart of pod shop/cart-5f7b9c8d4-abcde exceeded its memory limit 256Mi and was OOM-killed",
    "Raise the memory limit of container cart in Deployment/cart above 256Mi, or fix the leak.",
    "Pod shop/cart-5f7b9c8d4-abcde 的容器 cart 超出内存限制 256Mi，被 OOM kill",
    "把 Deployment/cart 中容器 cart 的内存限制调到 256Mi 以上，或者修复内存泄漏"
    "（查看上一个容器的日志：`kubectl -n shop logs cart-5f7b9c8d4-abcde -c cart --previous`）。",
)
FOUNDING = _diagnosis(
    "stale-fuse-bind-after-daemon-restart",
    "pod monitoring/dashboard-7c9f8d6b5-x1 on node node-3 cannot start: its volume dashboard-folder is still "
    "bound to the dead FUSE connection 39 of a fuse.ceph-fuse daemon that was OOM-killed and restarted",
    "Delete pod monitoring/dashboard-7c9f8d6b5-x1 on node node-3 so kubelet binds the volume again.",
    "节点 node-3 上的 Pod monitoring/dashboard-7c9f8d6b5-x1 无法启动："
    "fuse.ceph-fuse 守护进程已因 OOM-kill 而重启，且带 -o nonempty 参数，"
    "但卷 dashboard-folder 仍绑定在旧进程留下的已失效 FUSE 连接 39 上；kubelet 不会自行重新发布这个卷",
    "删除节点 node-3 上的 Pod monitoring/dashboard-7c9f8d6b5-x1，"
    "让 kubelet 重新执行 NodeUnpublish/NodePublish。",
)


def _incident(n: int, ns: str, pod: str, pods: int, diagnosis: dict[str, Any] | None) -> Incident:
    return Incident(
        id=f"inc{n:09d}", fingerprint=f"fp{n}",
        category="oom-killed" if diagnosis is OOM else "container-start",
        reason="OOMKilled" if diagnosis is OOM else "RunContainerError", signature=None,
        severity="critical" if n % 2 else "error", namespace=ns, pod=pod, node="node-3", container="app",
        owner=Owner(kind="Deployment", name=pod.rsplit("-", 2)[0]),
        message="error mounting \"/data/kubernetes/kubelet/pods/92f2591b/volumes/kubernetes.io~csi/pv-1/"
        "mount\" to rootfs at \"/data\": stat ...: transport endpoint is not connected",
        count=n, first_seen=AT, last_seen=AT, diagnosis=diagnosis,
        pods=tuple(f"{pod}-{i}" for i in range(pods)),
    )  # fmt: skip


INCIDENTS = [
    _incident(1, "shop", "cart-5f7b9c8d4-abcde", 3, OOM),
    _incident(2, "monitoring", "dashboard-7c9f8d6b5-x1", 1, FOUNDING),
    _incident(3, "a-very-long-namespace-name-for-payments", "checkout-6d5f7c9b8-zz9zz", 12, OOM),
    _incident(4, "shop", "db-0", 0, None),
]


@pytest.mark.parametrize("width", [60, 80, 100, 120])
def test_the_chinese_view_fits_the_terminal_and_its_table_lines_up(width: int) -> None:
    view = LiveView(width=width, lang="zh")
    shown = [view.render(IncidentChange(kind="incident.opened", incident=inc)) for inc in INCIDENTS]
    lines = "\n".join(text for text in shown if text).splitlines()
    assert all(display_width(line) <= width for line in lines), max(lines, key=display_width)
    assert any(line.lstrip().startswith("根因 → container-memory-limit") for line in lines)
    assert any("根因 → stale-fuse-bind-after-daemon-restart" in line for line in lines)
    assert any(line.lstrip().startswith("处理：") for line in lines)
    table = view.open_table(INCIDENTS).splitlines()
    assert table[0] == "4 个未恢复的事件："
    rows = table[1:]
    assert all(display_width(row) <= width for row in rows), rows
    # the count and the cause columns start at one display column in every row, pods column or not
    assert len({display_width(row[: row.index(" x")]) for row in rows}) == 1, rows
    starts = {display_width(row[: row.index(cause)]) for row in rows for cause in CAUSES if cause in row}
    assert len(starts) <= 1, rows
    if width >= 120:  # room for every cause whole (a narrower terminal clips the longest)
        assert len(starts) == 1 and len(_full(rows)) == len(rows), rows
    assert width < 80 or (any("12 个 Pod" in row for row in rows) and any("3 个 Pod" in row for row in rows))
    # the view's own words and the diagnoses' texts are Chinese: no English sentence left
    # (a line whose middle cut took a command's opening backquote shows the command as bare words)
    prose = [line for line in lines if has_chinese(line) and line.count("`") % 2 == 0]
    assert len(prose) >= 4 and [line for line in prose if english_runs(line)] == []


CAUSES = ("container-memory-limit", "stale-fuse-bind-after-daemon-restart", "OOMKilled", "RunContainerError")


def _full(rows: list[str]) -> list[str]:
    """The rows whose cause is shown whole (a narrow terminal clips it)."""
    return [row for row in rows if any(cause in row for cause in CAUSES)]


def test_the_english_view_of_the_same_incidents_has_no_chinese() -> None:
    view = LiveView(width=80, lang="en")
    shown = [view.render(IncidentChange(kind="incident.opened", incident=inc)) for inc in INCIDENTS]
    text = "\n".join(t for t in shown if t) + "\n" + view.open_table(INCIDENTS)
    assert not has_chinese(text)
    assert "cause → container-memory-limit (85%)" in text and "4 open incident(s):" in text
