"""Structured facts pulled out of failure messages, by extractors that signatures name.

The diagnoser needs the pieces of a message, not its prose: which kubelet root (often not
``/var/lib/kubelet``), pod UID, volume plugin and volume a path belongs to, which errno the
kernel returned, which runtime generation wrote the text (the wording differs, the cause does
not), which image and registry, which scheduler predicates failed on how many nodes.

Every extractor takes ``(text, lowered)`` and returns only the facts it found; signatures name
the extractors worth running for them (``facts:`` in the YAML), so a message pays only for the
facts its signature can carry. Extractors use linear regexes (bounded, no nested or
overlapping quantifiers) or plain string scanning, so hostile input costs linear time.
"""

from __future__ import annotations

from typing import Final

from podsleuth.diagnose.extractors.base import Extractor, Facts
from podsleuth.diagnose.extractors.node import deleted_root, errno, kubelet_paths, mount_spec, oom, runtime
from podsleuth.diagnose.extractors.workload import (
    config_ref,
    eviction,
    exit_code,
    image,
    kubelet_volume,
    probe,
    registry_of,
    scheduler,
)

__all__ = ["EXTRACTORS", "Extractor", "Facts", "registry_of"]

EXTRACTORS: Final[dict[str, Extractor]] = {
    "kubelet_paths": kubelet_paths,
    "errno": errno,
    "runtime": runtime,
    "image": image,
    "config_ref": config_ref,
    "scheduler": scheduler,
    "oom": oom,
    "kubelet_volume": kubelet_volume,
    "exit_code": exit_code,
    "mount_spec": mount_spec,
    "deleted_root": deleted_root,
    "eviction": eviction,
    "probe": probe,
}
