"""Children stuck in the kernel on a FUSE mount that never answers never block the agent.

``subprocess.run(timeout=)`` kills the child on timeout and then waits for it without limit; a
child in uninterruptible sleep on a dead FUSE/NFS mount never comes back, so ``resolve_path``
and ``bind_test`` must return on their own timeout.  And a permanently hung mount must not cost
one more stuck process per scan: while an earlier probe of it is still blocked, later scans
report it hung at once.

Every call under test runs in a daemon thread joined with a timeout, so a regression fails the
test instead of hanging the suite; teardown aborts the FUSE connection, kills the daemon,
unmounts (lazily as a last resort) and waits for the stuck children to exit.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from podsleuth.node import bindtest, probe
from podsleuth.node.check import CheckOptions, NodeReport, check_node
from tests.node.conftest import FUSECTL, ROOT_ONLY, KubeletTree, run
from tests.waiting import eventually_sync

pytestmark = [ROOT_ONLY]

T = TypeVar("T")
SLACK = 1.5  # interpreter start of the child + kill + scheduling on a loaded 2-vCPU VM


def _in_thread(fn: Callable[[], T], limit: float) -> tuple[T, float]:
    """Run ``fn`` in a daemon thread; fail (not hang) if it is not back within ``limit``."""
    box: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            box.append(fn())
        except BaseException as e:  # re-raised in the test thread
            errors.append(e)

    t0 = time.monotonic()
    th = threading.Thread(target=target, daemon=True)
    th.start()
    th.join(limit)
    elapsed = time.monotonic() - t0
    assert not th.is_alive(), f"still blocked after {elapsed:.1f}s"
    if errors:
        raise errors[0]
    return box[0], elapsed


def _stuck_children() -> list[int]:
    """Live (non-zombie) children of this process running a podsleuth.node probe/bind child."""
    me = str(os.getpid())
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        state, ppid = fields[0], fields[1]
        if ppid == me and state != "Z" and (b"podsleuth.node.probe" in cmdline
                                            or b"podsleuth.node.bindtest" in cmdline):
            out.append(int(pid))
    return out


def _wait_unstuck(paths: set[str], limit: float = 15.0) -> None:
    """Teardown: wait (bounded) until no child is stuck on these mounts; past that, move on."""
    def unstuck() -> bool:
        return not [s for s in probe.stuck_processes() if s.path is None or s.path.split("/sub")[0] in paths]

    with contextlib.suppress(AssertionError):
        eventually_sync(unstuck, within=limit)


@pytest.fixture
def hung_tree(fusectl: str) -> Iterator[KubeletTree]:
    """A kubelet tree; teardown unblocks and reaps every child stuck on its mounts."""
    base = Path(tempfile.mkdtemp(prefix="podsleuth-node-test-"))
    t = KubeletTree(base, base / "kubelet")
    t.kubelet.mkdir()
    try:
        yield t
    finally:
        try:
            t.cleanup()  # aborts /sys/fs/fuse/connections/<id>, kills the daemons, umount (-l)
        finally:
            _wait_unstuck({d.mount_point for d in t.daemons})


def _hung_volume(tree: KubeletTree, name: str) -> tuple[Path, int]:
    path = tree.volume(name)
    daemon = tree.start_fuse(path, "--hang-getattr")
    return path, daemon.dev


def test_resolve_path_returns_on_its_timeout(hung_tree: KubeletTree) -> None:
    hung, _ = _hung_volume(hung_tree, "pvc-hung-resolve")
    timeout = 1.0
    resolved, elapsed = _in_thread(lambda: probe.resolve_path(str(hung), timeout=timeout),
                                   timeout + 10)
    assert resolved is None
    assert elapsed < timeout + SLACK, elapsed
    # the realpath child is stuck in the kernel: parked, not waited for
    stuck = [s for s in probe.stuck_processes() if s.path == str(hung)]
    assert [s.kind for s in stuck] == ["resolve"]
    # asking again (or for a path below it) does not start another child that would get stuck
    before = len(_stuck_children())
    again, elapsed = _in_thread(lambda: probe.resolve_path(str(hung / "x"), timeout=timeout), timeout + 10)
    assert again is None and elapsed < 0.5, elapsed
    assert len(_stuck_children()) == before


def test_bind_test_returns_on_its_timeout(hung_tree: KubeletTree) -> None:
    hung, _ = _hung_volume(hung_tree, "pvc-hung-bind")
    target = str(hung / "sub")  # the lookup below the root goes to the daemon (getattr): hangs
    timeout = 1.0
    result, elapsed = _in_thread(lambda: bindtest.bind_test(target, timeout=timeout), timeout + 10)
    assert result.status == "hung", result
    assert elapsed < timeout + SLACK, elapsed
    assert [s.kind for s in probe.stuck_processes() if s.path == target] == ["bind"]
    again, elapsed = _in_thread(lambda: bindtest.bind_test(target, timeout=timeout), timeout + 10)
    assert again.status == "hung" and "still blocked" in (again.error or ""), again
    assert elapsed < 0.5, elapsed
    # nothing is left behind: no scratch dir, no mount
    assert not [p for p in os.listdir(tempfile.gettempdir()) if p.startswith("podsleuth-bindtest-")
                and os.path.ismount(os.path.join(tempfile.gettempdir(), p))]


def _hung_finding(report: NodeReport, path: str) -> str:
    found = [f for f in report.findings if f.kind == "mount-hung" and f.path == path]
    assert len(found) == 1, report.findings
    return found[0].detail


def test_repeated_scans_leave_one_stuck_probe(hung_tree: KubeletTree) -> None:
    hung, dev = _hung_volume(hung_tree, "pvc-hung-scan")
    healthy = hung_tree.volume("cache", plugin="kubernetes.io~empty-dir")
    assert run("mount", "-t", "tmpfs", "podsleuth-test", str(healthy)).returncode == 0
    timeout = 2.0
    opts = CheckOptions(kubelet_dirs=(str(hung_tree.kubelet),), mount_pid="self", read_kernel_log=False,
                        probe_timeout=timeout)
    baseline = len(_stuck_children())

    first, elapsed = _in_thread(lambda: check_node(opts), timeout + 10)
    assert elapsed < timeout + SLACK, elapsed
    assert "no answer within" in _hung_finding(first, str(hung))

    for _ in range(2):
        later, elapsed = _in_thread(lambda: check_node(opts), timeout + 10)
        assert elapsed < timeout / 2, elapsed  # no second wait on the hung mount
        assert "earlier probe" in _hung_finding(later, str(hung))
        by_path = {m.entry.mount_point: m for m in later.mounts}
        healthy_probe = by_path[str(healthy)].probe
        assert healthy_probe is not None and healthy_probe.status == "ok"

    assert len(_stuck_children()) - baseline <= 1, _stuck_children()
    assert [(s.path, s.device) for s in probe.stuck_processes() if s.path == str(hung)] == [(str(hung), dev)]

    # once the stuck probe can exit (connection aborted), the mount is probed again
    with open(f"{FUSECTL}/{dev}/abort", "w") as f:
        f.write("1")
    _wait_unstuck({str(hung)})
    assert not [s for s in probe.stuck_processes() if s.path == str(hung)]
    after, elapsed = _in_thread(lambda: check_node(opts), timeout + 10)
    kinds = {f.kind for f in after.findings if f.path == str(hung)}
    assert "mount-hung" not in kinds and "mount-disconnected" in kinds, after.findings
