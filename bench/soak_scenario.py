"""The world of bench/soak.py: pods, churn, episodes with a known truth, and API faults.

Every incident the watcher should raise comes from an ``Episode`` started here; everything
else (rolling updates, annotation churn, short node flaps, faults) must raise nothing. A key
(namespace and pod, or "" and node) is never reused while an incident on it could still be
open, so each long episode maps to exactly one incident.
"""

from __future__ import annotations

import copy
import json
import random
from datetime import UTC, datetime
from typing import Any

from soak_truth import Episode, Truth

from podsleuth.lab.fake_apiserver import FakeApiServer
from podsleuth.lab.sample_pods import sample_pod

FAULTS = ("drop", "error410", "compact", "http500", "slow", "stall", "http503")


def _ts() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_object(name: str, *, ready: bool) -> dict[str, Any]:
    cond = {
        "type": "Ready",
        "status": "True" if ready else "Unknown",
        "reason": "KubeletReady" if ready else "NodeStatusUnknown",
        "message": "kubelet is posting ready status" if ready else "Kubelet stopped posting node status.",
        "lastHeartbeatTime": _ts(),
        "lastTransitionTime": _ts(),
    }
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "spec": {},
        "status": {"conditions": [cond]},
        "metadata": {"name": name, "uid": f"node-uid-{name}", "labels": {"kubernetes.io/hostname": name}},
    }


class Scenario:
    def __init__(self, api: FakeApiServer, *, pods: int, nodes: int, quick: bool, seed: int) -> None:
        self.api, self.pods, self.nodes, self.quick = api, pods, nodes, quick
        self.rng = random.Random(seed)
        self.churn_slots = (pods // 2) // 50 * 50  # Deployments web-0.. churn; the rest crash
        self.current: dict[int, tuple[str, str]] = {}
        self.pending: list[tuple[float, dict[str, Any]]] = []
        self.episodes: list[Episode] = []
        self.node_free_at: dict[str, float] = {}
        self.next_crash_slot = self.churn_slots
        self.gen = 0
        self.faults_done = 0
        self.undo: list[tuple[float, str]] = []
        s = 1.0 if quick else 2.5
        self.every = {"crash": 5 * s, "node": 9 * s, "fault": 6 * s + (0 if quick else 5)}
        self.crash_len = (6.0, 12.0) if quick else (20.0, 60.0)
        self.flap = (10.0, 1.5) if quick else (25.0, 3.0)  # long, short: threshold 4 s / 10 s
        self.cooldown = 15.0 if quick else 30.0
        self.due = {k: v for k, v in self.every.items()}
        self.churn_rate, self.noise_rate = 10.0, 20.0
        self.credit = {"churn": 0.0, "noise": 0.0}
        self.last_t = 0.0
        self.last_fault = -100.0

    def _pod(self, i: int) -> dict[str, Any]:
        return sample_pod(i, namespace=f"ns-{i % 20}", node=f"node-{i % self.nodes}")

    def populate(self) -> None:
        for n in range(self.nodes):
            self.api.put("nodes", node_object(f"node-{n}", ready=True))
        for i in range(self.pods):
            pod = self._pod(i)
            self.api.store.put("pods", pod)  # no deepcopy: the pod dict is not reused
            self.current[i] = (pod["metadata"]["namespace"], pod["metadata"]["name"])

    # ---- healthy churn ------------------------------------------------------------------

    def _replace(self, now: float) -> None:
        slot = self.rng.randrange(self.churn_slots)
        ns, name = self.current[slot]
        self.api.delete("pods", ns, name)
        self.gen += 1
        pod = self._pod(slot)
        pod["metadata"]["name"] = new = f"{pod['metadata']['generateName']}g{self.gen:x}"
        pod["metadata"]["uid"] = f"soak-{self.gen}"
        pod["metadata"]["creationTimestamp"] = pod["status"]["startTime"] = now_ts = _ts()
        for c in pod["status"]["conditions"]:
            c["lastTransitionTime"] = now_ts
        for cs in pod["status"]["containerStatuses"]:
            cs.update(restartCount=0, lastState={}, state={"running": {"startedAt": now_ts}})
        running = copy.deepcopy(pod)
        st = pod["status"]
        st["phase"] = "Pending"
        for c in st["conditions"]:
            if c["type"] in ("Ready", "ContainersReady"):
                c["status"] = "False"
        for cs in st["containerStatuses"]:
            cs.update(
                ready=False, started=False, state={"waiting": {"reason": "ContainerCreating"}}, lastState={}
            )
        self.api.store.put("pods", pod)
        self.pending.append((now + self.rng.uniform(0.5, 2.0), running))
        self.current[slot] = (ns, new)

    def _noise(self) -> None:
        ns, name = self.current[self.rng.randrange(self.churn_slots)]
        entry = self.api.store.get("pods", ns, name)
        if entry is not None:
            pod = json.loads(entry.raw)
            pod["metadata"].setdefault("annotations", {})["soak/touched"] = str(self.gen)
            self.api.store.put("pods", pod)

    # ---- episodes -----------------------------------------------------------------------

    def _crash_status(self, ep: Episode, *, crashing: bool) -> dict[str, Any]:
        pod = copy.deepcopy(ep.pod)
        st = pod["status"]
        app = st["containerStatuses"][0]
        app["restartCount"] = ep.restarts
        app["lastState"] = {
            "terminated": {
                "exitCode": 1,
                "reason": "Error",
                "startedAt": _ts(),
                "finishedAt": _ts(),
                "containerID": "containerd://1",
            }
        }
        for c in st["conditions"]:
            if c["type"] in ("Ready", "ContainersReady"):
                c["status"], c["lastTransitionTime"] = ("False" if crashing else "True"), _ts()
        if crashing:
            app.update(
                ready=False,
                started=False,
                state={
                    "waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": "back-off 10s restarting failed container=app "
                        f"pod={pod['metadata']['name']}",
                    }
                },
            )
        else:
            app.update(ready=True, started=True, state={"running": {"startedAt": _ts()}})
        return pod

    def _start_crash(self, t: float) -> None:
        if self.next_crash_slot >= self.pods:
            return
        slot, self.next_crash_slot = self.next_crash_slot, self.next_crash_slot + 50
        pod = self._pod(slot)
        key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
        ep = Episode("crash", key, t, t + self.rng.uniform(*self.crash_len), pod=pod)
        self.episodes.append(ep)
        self.api.set_log(
            *key, "panic: runtime error: invalid memory address\n", container="app", previous=True
        )
        self.api.store.put("pods", self._crash_status(ep, crashing=True))

    def _start_flap(self, t: float) -> None:
        free = [f"node-{n}" for n in range(self.nodes) if self.node_free_at.get(f"node-{n}", 0) <= t]
        if not free:
            return
        node = self.rng.choice(free)
        # a short flap during a fault is seen long (the heal arrives late): only in quiet times
        quiet = not self.undo and t - self.last_fault > 10 and self.due["fault"] > t + self.flap[1] + 2
        long = self.rng.random() < 2 / 3 or not quiet
        ep = Episode("node", ("", node), t, t + self.flap[0 if long else 1], long=long)
        self.node_free_at[node] = float("inf")
        self.episodes.append(ep)
        self.api.put("nodes", node_object(node, ready=False))

    def _heal(self, ep: Episode, t: float) -> None:
        ep.healed = True
        if ep.kind == "crash":
            self.api.store.put("pods", self._crash_status(ep, crashing=False))
        else:
            self.api.put("nodes", node_object(ep.key[1], ready=True))
            self.node_free_at[ep.key[1]] = t + self.cooldown

    def _fault(self, t: float) -> None:
        kind = FAULTS[self.faults_done % len(FAULTS)]
        self.faults_done += 1
        self.last_fault = t
        api = self.api
        if kind == "error410":
            api.inject_error(code=410, reason="Expired")
        elif kind == "stall":
            api.stall_watches()
            self.undo.append((t + 20.0, "stall"))
        else:
            if kind == "compact":
                api.compact()
            elif kind in ("http500", "http503"):
                api.fail_requests(4, code=int(kind[-3:]))
            elif kind == "slow":
                api.slow_requests(2.0)
                self.undo.append((t + 10.0, "slow"))
            api.drop_watches()

    def tick(self, t: float, duration: float) -> None:
        dt, self.last_t = t - self.last_t, t
        for name, rate in (("churn", self.churn_rate), ("noise", self.noise_rate)):
            self.credit[name] += rate * dt
            while self.credit[name] >= 1:
                self.credit[name] -= 1
                self._replace(t) if name == "churn" else self._noise()
        while self.pending and self.pending[0][0] <= t:
            self.api.store.put("pods", self.pending.pop(0)[1])
        for ep in self.episodes:
            if not ep.healed and ep.heal_at <= t:
                self._heal(ep, t)
            elif ep.kind == "crash" and not ep.healed and t - ep.start > 3 * ep.restarts:
                ep.restarts += 1
                self.api.store.put("pods", self._crash_status(ep, crashing=True))
        for what in ("crash", "node", "fault"):
            if t >= self.due[what]:
                self.due[what] += self.every[what]
                {"crash": self._start_crash, "node": self._start_flap, "fault": self._fault}[what](t)
        for when, what in list(self.undo):
            if when <= t:
                self.undo.remove((when, what))
                self.api.resume_watches() if what == "stall" else self.api.slow_requests(0.0)

    def finish(self, t: float) -> Truth:
        """No more faults; short flaps end (else they would turn long); the rest stays as is."""
        self.api.resume_watches()
        self.api.slow_requests(0.0)
        self.api.fail_requests(0)
        for ep in self.episodes:
            if not ep.long and not ep.healed:
                self._heal(ep, t)
        return Truth(self.episodes)
