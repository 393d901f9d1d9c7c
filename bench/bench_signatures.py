"""Messages classified per second on one core, with the full packaged knowledge base.

The mix imitates what a watcher sees: mostly ordinary event texts that match nothing or a cheap
signature, and a share of long runtime/volume errors. Run: ``python bench/bench_signatures.py``.
"""

from __future__ import annotations

import argparse
import random
import time
import uuid

from podsleuth.diagnose.knowledge import KnowledgeBase

ROOTS = ["/var/lib/kubelet", "/data/kubernetes/kubelet", "/var/data/kubelet", "/home/kubelet"]
PLUGINS = ["kubernetes.io~csi", "kubernetes.io~nfs", "kubernetes.io~configmap", "kubernetes.io~secret"]
IMAGES = [
    "docker.io/library/nginx:1.25",
    "ghcr.io/acme/api:v2.3.1",
    "registry.example.com:5000/team/worker:pr-88",
    "quay.io/prometheus/node-exporter:v1.7.0",
    "busybox",
]
ERRNOS = [
    "no such file or directory",
    "operation not permitted",
    "transport endpoint is not connected",
    "not a directory",
    "permission denied",
    "no such device",
]


def _vol_path(rng: random.Random) -> str:
    plugin = rng.choice(PLUGINS)
    tail = "/mount" if plugin.endswith("csi") else ""
    return (
        f"{rng.choice(ROOTS)}/pods/{uuid.UUID(int=rng.getrandbits(128))}/volumes/{plugin}/pvc-"
        f"{rng.getrandbits(32):08x}{tail}"
    )


def _make(rng: random.Random) -> str:
    n = rng.randrange(100)
    p, e, img = _vol_path(rng), rng.choice(ERRNOS), rng.choice(IMAGES)
    fd = rng.randrange(3, 40)
    if n < 12:
        return rng.choice(
            [
                "Successfully assigned default/web-7f9c to node-3",
                'Pulling image "' + img + '"',
                f'Successfully pulled image "{img}" in 1.2s',
                "Created container app",
                "Started container app",
                "Stopping container app",
                "Scaled up replica set web-7f9c to 3",
            ]
        )
    if n < 24:
        return "Back-off restarting failed container app in pod web-7f9c_default(" + str(uuid.uuid4()) + ")"
    if n < 32:
        return rng.choice(
            [
                "Readiness probe failed: HTTP probe failed with statuscode: 503",
                f'Liveness probe failed: Get "http://10.1.{fd}.7:8080/healthz": dial tcp 10.1.{fd}.7:8080: '
                "connect: connection refused",
            ]
        )
    if n < 40:
        return (
            f"0/{fd} nodes are available: 2 Insufficient cpu, {fd - 2} node(s) had untolerated taint "
            "{node-role.kubernetes.io/control-plane: }. preemption: 0/9 nodes are available: 9 Preemption is "
            "not helpful for scheduling."
        )
    if n < 48:
        return (
            f'Failed to pull image "{img}": rpc error: code = NotFound desc = failed to pull and unpack '
            "image "
            f'"{img}": failed to resolve reference "{img}": {img}: not found'
        )
    if n < 54:
        return f'MountVolume.SetUp failed for volume "cfg-{fd}" : configmap "app-config-{fd}" not found'
    if n < 62:
        return (
            "Error: failed to create containerd task: failed to create shim task: OCI runtime create "
            "failed: runc "
            f"create failed: unable to start container process: error during container init: error mounting "
            f'"{p}" to rootfs at "/data": mount {p}:/data (via /proc/self/fd/{fd}), flags: 0x5000: {e}: '
            "unknown"
        )
    if n < 68:
        return (
            f"failed to create containerd task: failed to create shim: OCI runtime create failed: "
            "container_linux.go:380: starting container process caused: process_linux.go:545: container "
            "init "
            f'caused: rootfs_linux.go:76: mounting "{p}" to rootfs at "/data" caused: mount through procfd: '
            f"{e}: "
            "unknown"
        )
    if n < 74:
        return (
            f'error mounting "{p}" to rootfs at "/srv": mount src={p}, dst=/srv, dstFd=/proc/thread-self/fd/'
            f"{fd}, flags=MS_BIND|MS_REC: {e}"
        )
    if n < 80:
        return (
            f'Error: failed to generate container "{uuid.uuid4().hex}" spec: failed to generate spec: '
            "failed to "
            f'stat "{p}": stat {p}: transport endpoint is not connected'
        )
    if n < 86:
        return (
            f"[{fd}.5] Memory cgroup out of memory: Killed process {fd * 97} (ceph-fuse) total-vm:812044kB, "
            "anon-rss:518420kB, file-rss:1240kB, shmem-rss:0kB, UID:0 pgtables:1200kB oom_score_adj:-997"
        )
    if n < 92:
        return f'Error: configmap "settings-{fd}" not found'
    return (
        f"Unable to attach or mount volumes: unmounted volumes=[data-{fd}], unattached volumes=[]: timed "
        "out waiting for the condition"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    msgs = [_make(rng) for _ in range(args.messages)]
    t0 = time.perf_counter()
    kb = KnowledgeBase.default()
    load = time.perf_counter() - t0
    kb.classify(msgs[0])  # warm-up
    for label, fn in (("classify", kb.classify), ("signature_of", kb.signature_of)):
        best = 0.0
        for _ in range(3):
            t0 = time.process_time()
            for m in msgs:
                fn(m)
            best = max(best, len(msgs) / (time.process_time() - t0))
        print(
            f"{label:13} {best:>10,.0f} messages/s  ({len(msgs)} messages, best of 3, CPU time of one core)"
        )
    matched = sum(1 for m in msgs if kb.signature_of(m))
    print(
        f"knowledge base: {len(kb.signatures)} signatures, loaded+compiled in {load * 1000:.0f} ms; "
        f"{matched / len(msgs):.0%} of the mix matched a signature"
    )


if __name__ == "__main__":
    main()
