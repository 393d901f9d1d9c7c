"""The truth of bench/soak.py: the episodes it caused, and what the webhook receiver got.

Each long ``Episode`` must give exactly one incident.opened and, once healed, one
incident.resolved; a short one (a node flap under the threshold) none. ``Truth.check`` matches
the accepted notifications to the episodes by key (namespace and pod, or "" and node), which
the scenario never reuses while an incident on it could still be open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Episode:
    kind: str  # crash | node
    key: tuple[str, str]
    start: float
    heal_at: float
    long: bool = True  # short node flaps must raise nothing
    healed: bool = False
    restarts: int = 1
    pod: dict[str, Any] = field(default_factory=dict)


@dataclass
class Truth:
    episodes: list[Episode]

    def check(self, accepted: list[dict[str, Any]]) -> dict[str, Any]:
        """Lost, duplicate and unexpected notifications against the episodes.

        A copy marked ``possible_duplicate`` of a change already received under the same
        (incident id, delivery sequence) is a *redelivery*: the contract tells receivers to drop
        it (a SIGKILLed leader cannot know whether its last POST arrived). It is counted, then
        dropped as a receiver would. A *duplicate* is what such a receiver would still see twice:
        a repeat without the mark, or an opened/resolved sent again under a new sequence."""
        flags = sum(bool((n.get("delivery") or {}).get("possible_duplicate")) for n in accepted)
        seen: dict[tuple[str, object], bool] = {}
        kept: list[dict[str, Any]] = []
        redeliveries = unflagged = 0
        for n in accepted:
            delivery = n.get("delivery") or {}
            key = ((n.get("incident") or {}).get("id", "?"), delivery.get("sequence"))
            if key in seen and key[1] is not None:
                if delivery.get("possible_duplicate"):
                    redeliveries += 1
                else:
                    unflagged += 1
                continue
            seen[key] = True
            kept.append(n)
        by_id: dict[str, dict[str, int]] = {}
        key_of: dict[str, tuple[str, str]] = {}
        category: dict[str, str] = {}
        for n in kept:
            inc = n.get("incident") or {}
            by_id.setdefault(inc.get("id", "?"), {}).setdefault(n.get("event", "?"), 0)
            by_id[inc.get("id", "?")][n["event"]] += 1
            key_of[inc.get("id", "?")] = (
                (inc.get("namespace") or "", inc["pod"]) if inc.get("pod") else ("", inc.get("node") or "")
            )
            category[inc.get("id", "?")] = inc.get("category", "?")
        duplicates = [
            f"{i} {e} x{c}"
            for i, ev in by_id.items()
            for e, c in ev.items()
            if c > 1 and e != "incident.updated"
        ]
        duplicates += [f"unflagged repeat x{unflagged}"] if unflagged else []
        expected: dict[tuple[str, str], list[Episode]] = {}
        for ep in self.episodes:
            if ep.long:
                expected.setdefault(ep.key, []).append(ep)
        opened: dict[tuple[str, str], set[str]] = {}
        resolved: dict[tuple[str, str], set[str]] = {}
        for i, ev in by_id.items():
            if "incident.opened" in ev:
                opened.setdefault(key_of[i], set()).add(i)
            if "incident.resolved" in ev:
                resolved.setdefault(key_of[i], set()).add(i)
        lost_opened: list[str] = []
        lost_resolved: list[str] = []
        unexpected: list[str] = []
        for key, eps in expected.items():
            got = len(opened.get(key, ()))
            lost_opened += [f"{eps[0].kind} {key}"] * max(0, len(eps) - got)
            healed = sum(ep.healed for ep in eps)
            lost_resolved += [f"{eps[0].kind} {key}"] * max(0, healed - len(resolved.get(key, ())))
        for key, ids in opened.items():
            beyond = len(ids) - len(expected.get(key, ()))
            unexpected += [f"{key} {sorted(category[i] for i in ids)}"] * max(0, beyond)
        open_seen = sum(
            1 for ev in by_id.values() if "incident.opened" in ev and "incident.resolved" not in ev
        )
        return {
            "episodes": len(self.episodes),
            "expected_opened": sum(map(len, expected.values())),
            "lost_opened": lost_opened,
            "lost_resolved": lost_resolved,
            "duplicates": duplicates,
            "unexpected": unexpected,
            "possible_duplicate_flags": flags,
            "redeliveries": redeliveries,
            "extra_copies_unflagged": unflagged,
            "open_seen": open_seen,
            "open_truth": sum(1 for ep in self.episodes if ep.long and not ep.healed),
        }
