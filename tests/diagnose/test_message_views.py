"""Pastes, prefixed log lines and kernel lines: what people actually feed ``diagnose``.

A ``kubectl describe`` Events table is classified by its failing row (not its first row or its
BackOff row), with the Reason column as the hint; journald/klog/dmesg/logrus prefixes and the
second layer of quoting of klog/logrus are undone before matching. Messages here are written
from the formats (kubectl's table, klog's header, logrus' key=value quoting) with values of our
own, not copied from the accuracy corpus.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from podsleuth.diagnose import matcher
from podsleuth.diagnose.knowledge import KnowledgeBase

UID = "6c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
PV = "pvc-0b1c2d3e-aaaa-4bbb-8ccc-ddddeeeeffff"
RUNC_CSI = (
    "Error: failed to create containerd task: failed to create shim task: OCI runtime create failed: runc "
    "create failed: unable to start container process: error during container init: error mounting "
    f'"/srv/kubelet/pods/{UID}/volumes/kubernetes.io~csi/{PV}/mount" to rootfs at "/var/www": mount '
    f"/srv/kubelet/pods/{UID}/volumes/kubernetes.io~csi/{PV}/mount:/var/www (via /proc/self/fd/9), flags: "
    "0x5000: no such file or directory: unknown"
)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.default()


def describe(*rows: tuple[str, str, str, str, str]) -> str:
    head = [
        "Events:",
        "  Type     Reason     Age   From     Message",
        "  ----     ------     ----  ----     -------",
    ]
    return "\n".join(head + [f"  {t:<8} {r:<10} {a:<5} {f:<8} {m}" for t, r, a, f, m in rows])


def test_describe_table_is_classified_by_its_failing_row(kb: KnowledgeBase) -> None:
    paste = describe(
        ("Normal", "Scheduled", "4m", "default-scheduler", "Successfully assigned shop/web-0 to node-9"),
        ("Normal", "Pulled", "3m", "kubelet", 'Container image "nginx:1.27" already present on machine'),
        ("Warning", "Failed", "3m", "kubelet", RUNC_CSI),
        (
            "Warning",
            "BackOff",
            "1m",
            "kubelet",
            f"Back-off restarting failed container web in pod web-0_shop({UID})",
        ),
    )
    c = kb.classify(paste)
    assert c.signature == "runc-procfd-enoent-stale-fuse-csi-bind"
    assert c.category == "container-start"
    # facts come from the failing row, so they are that row's
    assert c.facts["pod_uid"] == UID and c.facts["volume"] == PV
    assert c.facts["kubelet_root"] == "/srv/kubelet"


def test_reason_column_is_the_hint_for_its_row(kb: KnowledgeBase) -> None:
    row = describe(
        (
            "Warning",
            "Unhealthy",
            "9s",
            "kubelet",
            "Startup probe failed: HTTP probe failed with statuscode: 418",
        )
    )
    c = kb.classify(row)
    assert c.signature == "probe-failures"
    assert c.score == kb.classify(row.splitlines()[-1].split("kubelet", 1)[1].strip(), "Unhealthy").score


def test_klog_line_with_nested_quoting(kb: KnowledgeBase) -> None:
    line = (
        "Nov 02 01:02:03 worker-7 kubelet[4242]: E1102 01:02:03.000042    4242 kuberuntime_manager.go:1256] "
        '"container start failed" err="CreateContainerConfigError: container has runAsNonRoot and image has '
        'non-numeric user (svc), cannot verify user is non-root (pod: \\"api-1_shop('
        + UID
        + ')\\", container: api)"'
    )
    c = kb.classify(line)
    assert c.signature == "config-run-as-non-root"
    assert c.facts.get("user") == "svc"


def test_logrus_error_field_is_unquoted(kb: KnowledgeBase) -> None:
    line = (
        'time="2025-01-01T00:00:00.000000001Z" level=error msg="PullImage \\"quay.io/team/tool:7\\" failed" '
        'error="failed to pull and unpack image \\"quay.io/team/tool:7\\": failed to resolve reference '
        '\\"quay.io/team/tool:7\\": failed to do request: '
        'Head \\"https://quay.io/v2/team/tool/manifests/7\\": '
        'http: server gave HTTP response to HTTPS client"'
    )
    assert kb.signature_of(line) == "image-http-vs-https"


def test_prefix_is_stripped_for_anchored_patterns(kb: KnowledgeBase) -> None:
    bare = "stat /opt/data/cache: no such file or directory"
    assert kb.signature_of(bare, "CreateContainerConfigError") == "hostpath-provisioner-stat-missing"
    prefixed = "Mar 01 10:00:00 node-3 kubelet[77]: " + bare
    assert kb.signature_of(prefixed, "CreateContainerConfigError") == "hostpath-provisioner-stat-missing"


@pytest.mark.parametrize(
    ("line", "signature"),
    [
        (
            "[81234.000001] Out of memory: Killed process 9182 (envoy) total-vm:412000kB, anon-rss:300000kB, "
            "file-rss:0kB, shmem-rss:0kB, UID:1337 pgtables:900kB oom_score_adj:1000",
            "kernel-oom-modern",
        ),
        (
            "Killed process 77 (redis-server) total-vm:90000kB, anon-rss:80000kB, file-rss:10kB",
            "kernel-oom-global-legacy",
        ),
        (
            "[Mon Jan  6 10:00:00 2025] Memory cgroup out of memory: Kill process 31 (ruby) score 999 "
            "or sacrifice child",
            "kernel-oom-global-legacy",
        ),
        (
            "6,9001,123456789,-;oom_reaper: reaped process 9182 (envoy), now anon-rss:0kB, file-rss:0kB, "
            "shmem-rss:0kB",
            "kernel-oom-killer-invoked",
        ),
        ("[  99.1] INFO: task containerd-shim:5150 blocked for more than 480 seconds.", "kernel-hung-task"),
        (
            "kernel: I/O error, dev xvdf, sector 409600 op 0x1:(WRITE) flags 0x0 phys_seg 8 prio class 0",
            "kernel-block-io-error",
        ),
        ("XFS (nvme2n1): log I/O error -5", "kernel-fs-error"),
        (
            "EXT4-fs error (device dm-7): ext4_lookup:1851: inode #131073: comm nginx: deleted inode "
            "referenced: 131090",
            "kernel-fs-error",
        ),
        ("watchdog: BUG: soft lockup - CPU#15 stuck for 41s! [ksoftirqd/15:98]", "kernel-soft-lockup"),
    ],
)
def test_kernel_lines(kb: KnowledgeBase, line: str, signature: str) -> None:
    c = kb.classify(line)
    assert c.signature == signature
    assert c.category == "node-kernel"


def test_recovery_lines_stay_unclaimed(kb: KnowledgeBase) -> None:
    assert kb.signature_of("[ 1.0] nfs: server filer-2.internal OK") is None


def test_scheduler_cause_is_the_filter_ruling_out_most_nodes(kb: KnowledgeBase) -> None:
    msg = (
        "0/12 nodes are available: 2 Insufficient memory, 3 Insufficient cpu, 7 node(s) didn't match pod "
        "topology spread constraints. preemption: 0/12 nodes are available: 12 No preemption victims found."
    )
    assert kb.signature_of(msg, "FailedScheduling") == "scheduling-topology-spread"
    msg2 = (
        "0/12 nodes are available: 4 Insufficient memory, 4 Insufficient cpu, 7 node(s) were unschedulable."
    )
    # 4 + 4 nodes ruled out by resources beat 7 cordoned ones
    assert kb.signature_of(msg2, "FailedScheduling") == "scheduling-insufficient-resources"


def test_init_container_crash_loop_is_an_init_failure(kb: KnowledgeBase) -> None:
    text = f"back-off 1m20s restarting failed container=migrate pod=api-2_shop({UID})"
    assert kb.classify(text, "CrashLoopBackOff").category == "crash-loop"
    c = kb.classify(text, "Init:CrashLoopBackOff")
    assert (c.signature, c.category) == ("crashloop-backoff", "init-failure")


def test_plain_messages_skip_the_views() -> None:
    assert not matcher.needs_views('Back-off pulling image "nginx:1.27"')
    assert matcher.needs_views("a\nb")
    assert matcher.needs_views("[ 12.5] Out of memory: Killed process 1 (x)")


def test_huge_paste_is_bounded(kb: KnowledgeBase) -> None:
    rows = [
        f'  Normal   Pulled  {i}s  kubelet  Container image "app:{i}" already present on machine'
        for i in range(5000)
    ]
    paste = "\n".join([*rows, "  Warning  Failed  1s  kubelet  " + RUNC_CSI])
    t0 = time.perf_counter()
    c = kb.classify(paste)
    assert time.perf_counter() - t0 < 2.0
    # the failing row is the last one: it is among the rows looked at, and its facts are used
    assert c.signature == "runc-procfd-enoent-stale-fuse-csi-bind"
    assert c.facts["pod_uid"] == UID


def _cli(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "podsleuth", "diagnose", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_raw_log_lines() -> None:
    log = "\n".join(
        [
            "[ 5.0] nfs: server 192.0.2.10 not responding, still trying",
            "",
            "[ 6.0] Memory cgroup out of memory: Killed process 4040 (php-fpm) total-vm:1000kB, "
            "anon-rss:900kB, file-rss:0kB, shmem-rss:0kB, UID:33 pgtables:12kB oom_score_adj:999",
        ]
    )
    p = _cli("messages", "-i", "-", "--input-format", "lines", stdin=log + "\n")
    assert p.returncode == 0, p.stderr
    out = [json.loads(x) for x in p.stdout.splitlines()]
    assert [o.get("signature") for o in out] == [
        "nfs-server-not-responding-kubelet-hang",
        None,
        "kernel-oom-modern",
    ]
    assert out[1] == {"line": 2, "error": "empty line"}
    assert out[2]["facts"]["oom_pid"] in (4040, "4040")


def test_cli_message_from_stdin_paste() -> None:
    paste = describe(("Warning", "Failed", "3m", "kubelet", RUNC_CSI))
    p = _cli("message", "-", "-o", "json", stdin=paste)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["signature"] == "runc-procfd-enoent-stale-fuse-csi-bind"


@pytest.mark.parametrize(
    "message",
    [
        'Error: secrets "tls-bundle" not found',  # kubelet <= 1.18 named the resource in the plural
        'Error:configmap "feature-flags" not found',
        'Error: configmaps "feature-flags" not found',
    ],
)
def test_missing_config_object_wordings(kb: KnowledgeBase, message: str) -> None:
    c = kb.classify(message, "CreateContainerConfigError")
    assert c.signature == "config-configmap-secret-missing"
    assert c.facts["missing_kind"] in ("secret", "configmap")


@pytest.mark.parametrize(
    "message",
    [
        'failed to pull and unpack image "docker.io/team/app:3": failed to unpack image on snapshotter '
        "overlayfs: content digest sha256:" + "ab" * 32 + ": not found",
        'failed to pull and unpack image "quay.io/x/y:1": failed to unpack image on snapshotter overlayfs: '
        'wrong diff id calculated on extraction "sha256:' + "cd" * 32 + '"',
    ],
)
def test_damaged_content_store(kb: KnowledgeBase, message: str) -> None:
    assert kb.signature_of(message, "ErrImagePull") == "image-content-store-corrupt"
