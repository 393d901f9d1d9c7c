"""Cause and victims: one incident's failure is the root cause of other incidents.

``correlate`` groups pods broken *the same way*; this links *different* incidents where one made
the others: the CSI/FUSE plugin pod OOM-killed on a node (its own ``oom-killed`` incident) and the
application pods on that node whose mounts it served (``transport endpoint is not connected``,
cannot start). The victim's diagnosis knows the culprit from its own facts (the API link's
``plugin_pod`` with its ``OOMKilled`` last state, the node agent's OOM kill of the daemon), so
``caused_by`` names it there; which *incident* that culprit has only the watch knows, so the
runner's ``Links`` (one per watch) matches them, whichever arrives first, and keeps both
directions in step: the victim's ``caused_by.incident``, the cause's ``victims``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from podsleuth import link_text
from podsleuth.detect import Incident
from podsleuth.diagnose.diagnosis import CausedBy, Diagnosis, Victims
from podsleuth.diagnose.evidence import Case

REMEMBER_RESOLVED = 512
"""Resolved culprit incidents remembered by pod: a plugin restarts and its OOM incident resolves
within minutes, while the pods it left on a dead mount stay broken and are diagnosed later."""
OOM_CATEGORY = "oom-killed"


def link_words(d: Diagnosis | None, lang: str = "en") -> tuple[str, str]:
    """``caused by <incident> (<pod> OOM-killed)`` of a victim, ``victims: 3 pods: ...`` of a
    cause; empty strings for what the diagnosis does not have (``podsleuth.link_text``)."""
    if d is None:
        return "", ""
    caused_by = d.caused_by if isinstance(d.caused_by, CausedBy) else None
    victims = d.victims if isinstance(d.victims, Victims) else None
    return link_text.link_lines(caused_by, victims, lang)


def caused_by(case: Case) -> CausedBy | None:
    """The culprit named by the victim's facts: the node's CSI plugin pod of the victim's volume
    driver, when it (or the FUSE daemon it runs) was OOM-killed. None for the plugin's own
    incident and when nothing points elsewhere."""
    f = case.facts
    node, plugin = f.get("node"), f.get("plugin_pod")
    if not isinstance(node, str) or not node or not isinstance(plugin, str) or "/" not in plugin:
        return None
    if plugin == f"{f.get('namespace')}/{f.get('pod')}":
        return None
    oom_container = f.get("plugin_last_reason") == "OOMKilled"
    if not (oom_container or f.get("daemon_oom_killed")):
        return None
    container = f.get("plugin_container") if oom_container else ""
    return CausedBy(subject=plugin, node=node, cause="oom-killed", container=str(container or ""))


def _pods(incident: Incident) -> list[str]:
    names = incident.pods or ((incident.pod,) if incident.pod else ())
    return [f"{incident.namespace}/{p}" if incident.namespace else p for p in names]


class Links:
    """The cause/victim links of one watch (one loop, no locks). ``suspect`` records a victim as
    diagnosed; ``relink`` matches every victim to its culprit's incident among the open ones (else
    the last resolved one of that pod) and returns the incidents whose link changed, for
    re-emitting; ``caused_by`` / ``victims`` read the current state into a diagnosis."""

    def __init__(self) -> None:
        self._suspects: dict[str, CausedBy] = {}
        self._victim_pods: dict[str, list[str]] = {}
        self._resolved: OrderedDict[str, str] = OrderedDict()
        """culprit pod ``ns/name`` -> its last resolved incident id."""
        self._linked: dict[str, CausedBy] = {}
        self._victims: dict[str, Victims] = {}

    def suspect(self, incident: Incident, culprit: CausedBy | None) -> None:
        if culprit is None:
            self._suspects.pop(incident.id, None)
            self._victim_pods.pop(incident.id, None)
            return
        self._suspects[incident.id] = culprit
        self._victim_pods[incident.id] = _pods(incident)

    def resolved(self, incident: Incident) -> None:
        """An incident resolved: it is no victim any more; as a culprit it stays findable."""
        self._suspects.pop(incident.id, None)
        self._victim_pods.pop(incident.id, None)
        for pod in _pods(incident):
            self._resolved[pod] = incident.id
            self._resolved.move_to_end(pod)
        while len(self._resolved) > REMEMBER_RESOLVED:
            self._resolved.popitem(last=False)

    def relink(self, open_incidents: Iterable[Incident]) -> set[str]:
        """Recompute every link; the ids whose ``caused_by`` or ``victims`` changed."""
        by_pod: dict[str, Incident] = {}
        for inc in open_incidents:
            for pod in _pods(inc):
                held = by_pod.get(pod)
                if held is None or (held.category != OOM_CATEGORY and inc.category == OOM_CATEGORY):
                    by_pod[pod] = inc
        linked: dict[str, CausedBy] = {}
        victims: dict[str, tuple[set[str], set[str]]] = {}
        for victim, culprit in self._suspects.items():
            cause = by_pod.get(culprit.subject)
            if cause is not None and cause.id != victim:
                linked[victim] = _with(culprit, cause.id, resolved=False)
                ids, pods = victims.setdefault(cause.id, (set(), set()))
                ids.add(victim)
                pods.update(self._victim_pods.get(victim, ()))
            elif (gone := self._resolved.get(culprit.subject)) is not None:
                linked[victim] = _with(culprit, gone, resolved=True)
            else:
                linked[victim] = culprit
        new_victims = {k: Victims(incidents=sorted(i), pods=sorted(p)) for k, (i, p) in victims.items()}
        changed = {k for k in {*linked, *self._linked} if linked.get(k) != self._linked.get(k)}
        changed |= {k for k in {*new_victims, *self._victims} if new_victims.get(k) != self._victims.get(k)}
        self._linked, self._victims = linked, new_victims
        return changed

    def caused_by(self, incident_id: str) -> CausedBy | None:
        return self._linked.get(incident_id)

    def victims(self, incident_id: str) -> Victims | None:
        return self._victims.get(incident_id)


def _with(culprit: CausedBy, incident: str, *, resolved: bool) -> CausedBy:
    return CausedBy(
        subject=culprit.subject,
        node=culprit.node,
        cause=culprit.cause,
        container=culprit.container,
        incident=incident,
        resolved=resolved,
    )
