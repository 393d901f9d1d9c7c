"""The incident categories of CONTRACT.md, and the Kubernetes reasons that imply each one.

Kept apart from the signatures so that the detector and the watcher can map a bare reason to a
category without loading the knowledge base.
"""

from __future__ import annotations

from typing import Final

#: CONTRACT.md's minimum set, plus node-side categories for kernel and mount evidence that
#: does not come from a pod (kernel log lines, mountinfo, FUSE daemons).
CATEGORIES: Final[frozenset[str]] = frozenset(
    {
        "image-pull",
        "crash-loop",
        "oom-killed",
        "container-config",
        "container-start",
        "volume-mount",
        "sandbox",
        "unschedulable",
        "probe-failure",
        "evicted",
        "init-failure",
        "node-not-ready",
        "node-pressure",
        "stuck-terminating",
        "deadline-exceeded",
        "node-kernel",
        "node-mount",
    }
)

UNKNOWN: Final = "unknown"

_REASON_CATEGORY: Final[dict[str, str]] = {
    "errimagepull": "image-pull",
    "imagepullbackoff": "image-pull",
    "invalidimagename": "image-pull",
    "errimageneverpull": "image-pull",
    "inspectfailed": "image-pull",
    "crashloopbackoff": "crash-loop",
    "backoff": "crash-loop",
    "oomkilled": "oom-killed",
    "createcontainerconfigerror": "container-config",
    "createcontainererror": "container-start",
    "runcontainererror": "container-start",
    "starterror": "container-start",
    "containercannotrun": "container-start",
    "failedmount": "volume-mount",
    "failedattachvolume": "volume-mount",
    "failedmapvolume": "volume-mount",
    "multi-attach": "volume-mount",
    "failedcreatepodsandbox": "sandbox",
    "networknotready": "sandbox",
    "failedscheduling": "unschedulable",
    "unschedulable": "unschedulable",
    "unhealthy": "probe-failure",
    "evicted": "evicted",
    "preempting": "evicted",
    "nodenotready": "node-not-ready",
    "nodestatusunknown": "node-not-ready",
    "nodelost": "node-not-ready",
    "kubeletnotready": "node-not-ready",
    "memorypressure": "node-pressure",
    "diskpressure": "node-pressure",
    "pidpressure": "node-pressure",
    "evictionthresholdmet": "node-pressure",
    "failedkillpod": "stuck-terminating",
    "deadlineexceeded": "deadline-exceeded",
}


def normalise_reason(reason: str | None) -> str | None:
    """Reasons arrive as ``RunContainerError``, ``Init:CrashLoopBackOff`` or with stray spaces;
    compare them in one canonical form."""
    if reason is None:
        return None
    r = reason.strip().lower()
    if r.startswith("init:"):
        r = r[5:]
    return r or None


def category_of_reason(reason: str | None) -> str | None:
    """The category a Kubernetes reason implies on its own, used when no signature matched."""
    if reason is None:
        return None
    if reason.strip().lower().startswith("init:"):
        return "init-failure"
    r = normalise_reason(reason)
    return _REASON_CATEGORY.get(r) if r else None
