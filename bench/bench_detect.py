"""Detector throughput on a realistic pod watch stream (benchmark, not a test).

Mostly healthy Running pods being updated (status heartbeats of a busy cluster), with a few
anomalies mixed in: crash-looping replicas whose restart count grows, pods briefly in
ContainerCreating, image pull failures. Prints events/s for ``Detector.on_pod`` alone on
pre-decoded objects, and for msgspec decode + on_pod on ~6 KB watch lines.

    python bench/bench_detect.py [--events 300000]
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from podsleuth.config import WatchSettings
from podsleuth.detect import Detector
from podsleuth.watch.objects import Pod

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def pod_json(i: int, kind: str, restarts: int = 0) -> dict[str, Any]:
    name = f"svc{i % 200}-7d9f8b6c5d-{i:05d}"
    if kind == "healthy":
        state: dict[str, Any] = {"running": {"startedAt": ts(T0)}}
        ready, phase = True, "Running"
    elif kind == "crash":
        state = {
            "waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"}
        }
        ready, phase = False, "Running"
    elif kind == "creating":
        state = {"waiting": {"reason": "ContainerCreating"}}
        ready, phase = False, "Pending"
    else:
        state = {"waiting": {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "x:1"'}}
        ready, phase = False, "Pending"
    cs = {
        "name": "app",
        "ready": ready,
        "started": ready,
        "restartCount": restarts,
        "image": "registry.example.com/team/app:1.2.3",
        "imageID": "registry.example.com/team/app@sha256:" + "a" * 64,
        "containerID": "containerd://" + "b" * 64,
        "state": state,
        "lastState": {
            "terminated": {"exitCode": 1, "reason": "Error", "startedAt": ts(T0), "finishedAt": ts(T0)}
        }
        if restarts
        else {},
    }
    sidecar = dict(
        cs, name="proxy", state={"running": {"startedAt": ts(T0)}}, ready=True, restartCount=0, lastState={}
    )
    cond_status = "True" if ready else "False"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "generateName": name[:-5],
            "namespace": f"team-{i % 20}",
            "uid": f"uid-{i}",
            "resourceVersion": str(1000 + i),
            "creationTimestamp": ts(T0),
            "labels": {"app": f"svc{i % 200}", "pod-template-hash": "7d9f8b6c5d", "team": f"t{i % 20}"},
            "annotations": {"kubectl.kubernetes.io/restartedAt": ts(T0), "prometheus.io/scrape": "true"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": f"svc{i % 200}-7d9f8b6c5d",
                    "uid": "rs",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
            "managedFields": [
                {
                    "manager": "kubelet",
                    "operation": "Update",
                    "apiVersion": "v1",
                    "time": ts(T0),
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {f"f:k{j}": {"f:x": {}} for j in range(60)},
                }
            ],
        },
        "spec": {
            "nodeName": f"node-{i % 50}",
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "containers": [
                {
                    "name": c,
                    "image": "registry.example.com/team/app:1.2.3",
                    "env": [{"name": f"ENV_{j}", "value": "v" * 20} for j in range(25)],
                    "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
                }
                for c in ("app", "proxy")
            ],
            "volumes": [{"name": "kube-api-access", "projected": {"sources": [{"serviceAccountToken": {}}]}}],
        },
        "status": {
            "phase": phase,
            "hostIP": "10.0.0.1",
            "podIP": "10.244.0.1",
            "startTime": ts(T0),
            "qosClass": "Burstable",
            "conditions": [
                {"type": t, "status": s, "lastTransitionTime": ts(T0)}
                for t, s in (
                    ("Initialized", "True"),
                    ("Ready", cond_status),
                    ("ContainersReady", cond_status),
                    ("PodScheduled", "True"),
                )
            ],
            "containerStatuses": [cs, sidecar],
        },
    }


def build_stream(n: int, pods: int, seed: int = 7) -> list[bytes]:
    """Watch lines: ~98% healthy updates, ~1% crash loops, ~0.5% creating, ~0.5% pull errors."""
    rng = random.Random(seed)
    restarts: dict[int, int] = {}
    lines = []
    encoder = msgspec.json.Encoder()
    cache: dict[tuple[int, str, int], bytes] = {}
    for _ in range(n):
        i = rng.randrange(pods)
        r = rng.random()
        if r < 0.01:
            restarts[i] = restarts.get(i, 0) + 1
            key = (i, "crash", restarts[i])
        elif r < 0.015:
            key = (i, "creating", 0)
        elif r < 0.02:
            key = (i, "pull", 0)
        else:
            key = (i, "healthy", restarts.get(i, 0))
        line = cache.get(key)
        if line is None:
            line = encoder.encode({"type": "MODIFIED", "object": pod_json(key[0], key[1], key[2])})
            cache[key] = line
        lines.append(line)
    return lines


class WatchLine(msgspec.Struct):
    type: str
    object: Pod


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=300_000)
    ap.add_argument("--pods", type=int, default=20_000)
    args = ap.parse_args()
    lines = build_stream(args.events, args.pods)
    decoder = msgspec.json.Decoder(WatchLine)
    objects = [decoder.decode(line).object for line in lines]
    size = sum(map(len, lines)) / len(lines)
    step = timedelta(microseconds=100)

    det = Detector(WatchSettings())
    now = T0
    t = time.perf_counter()
    for pod in objects:
        now += step
        det.on_pod(None, pod, now)
    detect_s = time.perf_counter() - t

    t = time.perf_counter()
    for line in lines:
        decoder.decode(line)
    decode_s = time.perf_counter() - t

    det = Detector(WatchSettings())
    now = T0
    t = time.perf_counter()
    for line in lines:
        now += step
        det.on_pod(None, decoder.decode(line).object, now)
    both_s = time.perf_counter() - t

    healthy = [
        p
        for p in objects
        if p.status.phase == "Running"
        and p.status.container_statuses
        and all(c.ready for c in p.status.container_statuses)
    ][:100_000]
    det = Detector(WatchSettings())
    t = time.perf_counter()
    for pod in healthy:
        det.on_pod(None, pod, T0)
    healthy_s = time.perf_counter() - t

    n = len(objects)
    print(
        f"stream: {n} pod events over {args.pods} pods, {size / 1024:.1f} KiB per line, "
        f"{len(det.open_incidents())} open incidents at the end of the healthy-only run"
    )
    print(f"detect only (on_pod):      {n / detect_s:>12,.0f} events/s  ({detect_s / n * 1e6:.2f} us/event)")
    print(
        f"healthy fast path:         {len(healthy) / healthy_s:>12,.0f} events/s  "
        f"({healthy_s / len(healthy) * 1e6:.2f} us/event)"
    )
    print(f"decode only (reference):   {n / decode_s:>12,.0f} events/s  ({decode_s / n * 1e6:.2f} us/event)")
    print(f"decode + detect:           {n / both_s:>12,.0f} events/s  ({both_s / n * 1e6:.2f} us/event)")


if __name__ == "__main__":
    main()
