"""Mechanical check of the Chinese texts (issue 18): no English sentence left in a zh text, no Chinese
in an English one.

A zh text may keep, exactly as in the English, what a Chinese SRE keeps: `code`, quoted error text
('...', "...", “...”), {placeholders}, URLs, paths, identifiers (snake_case, kebab-case, CamelCase,
dotted.names, Kubernetes kinds, ALLCAPS errno names and reasons, units such as 256Mi), flags and
command lines (``kubectl ...`` up to the next Chinese text). Whatever ASCII is left after removing
those must not contain three or more English words in a row: that is an untranslated phrase.

Usage: ``python3 tests/i18n/lint_zh.py FILE...`` (signature / rule YAML files of the knowledge base,
or data/evidence/phrases.yaml); prints one line per violation and exits 1 when there is any.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

RUN_LENGTH = 3
"""This many English words in a row (after the removals) make an English run."""

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff01-\uff5e]")
"""Han characters and CJK / full-width punctuation (an English text has none of them)."""

_CODE = re.compile(r"`[^`]*`")
_URL = re.compile(r"\b(?:https?|ftp|file|unix|tcp)://\S+")
_PLACEHOLDER = re.compile(r"\{(\w*)(?:\|((?:[^{}]|\{\w*\})*))?\}")
_JSONPATH = re.compile(r"\{[^{}]*\}")
_QUOTED = [
    re.compile(r'"[^"\n]*"'),
    re.compile(r"(?<![A-Za-z])'[^'\n]+'(?![A-Za-z])"),
    re.compile(r"“[^”]*”"),
    re.compile(r"‘[^’]*’"),
    re.compile(r"「[^」]*」"),
    re.compile(r"『[^』]*』"),
]
_ANGLE = re.compile(r"<[^<>\n]{1,60}>")
_COMMANDS = (
    "kubectl", "podsleuth", "crictl",
    "ctr", "nerdctl", "docker", "podman", "helm", "findmnt", "umount", "pgrep",
    "dmesg", "journalctl", "systemctl", "lsof", "fuser", "nslookup", "dig", "curl", "wget", "openssl",
    "mkdir", "sudo", "nsenter", "ceph", "rbd", "iptables", "netstat", "jq", "uname", "skopeo", "gcloud",
    "traceroute", "telnet", "getent", "sysctl", "modprobe", "lsmod", "runc", "mountpoint", "blkid",
    "lsblk", "fsck", "e2fsck", "xfs_repair", "chmod", "chown", "pkill", "egrep",
)  # fmt: skip
"""Command words that are never English prose: the line after them is the command's."""
_AMBIGUOUS_COMMANDS = (
    "mount", "stat", "grep", "ls", "cat", "ps", "kill", "df", "du", "ip", "ss", "rm", "mv", "cp", "echo",
    "aws", "az", "ping", "nc", "tail", "head", "awk", "sed", "cd",
)  # fmt: skip
"""Command words that are also English (or short) words: a command only before an argument."""
_NOT_CHINESE = r"[^\u3400-\u9fff\uff01-\uff5e\u3000-\u303f\n]*"
_COMMAND = re.compile(
    r"(?<![\w./-])(?:(?:"
    + "|".join(_COMMANDS)
    + r")[ \t]|(?:"
    + "|".join(_AMBIGUOUS_COMMANDS)
    + r")[ \t]+(?=[-/~.<{$'\"]))"
    + _NOT_CHINESE
)
"""A command line: a known command word followed by arguments, up to the next Chinese text."""
_PATH = re.compile(r"(?<![\w])(?:~|\.{1,2})?/[^\s\u3000-\u303f\uff01-\uff5e,;'\"`()\[\]]*")
_SLASHED = re.compile(r"\b[\w.<>*-]+(?:/[\w.<>*-]*)+")
_FLAG = re.compile(r"(?<![\w-])--?[A-Za-z][\w-]*(?:=\S*)?")
_IDENTIFIERS = [
    re.compile(r"\b\w*_\w*\b"),  # snake_case
    re.compile(r"\b[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+\b"),  # kebab-case, OOM-killed
    re.compile(r"\b\w+(?:\.\w+)+\b"),  # dotted.names, kubernetes.io
    re.compile(r"\b[A-Za-z]*[a-z][A-Z][A-Za-z0-9]*\b"),  # camelCase, ConfigMap, imagePullSecrets
    re.compile(r"\b[A-Z][A-Z0-9]+[a-z]*[A-Za-z0-9]*\b"),  # ALLCAPS, ENOTCONN, OOMKilled, PVCs
    re.compile(r"\b\w*\d\w*\b"),  # 256Mi, arm64, v1, 137
]
_KINDS = frozenset((
    "Pod", "Pods", "Node", "Nodes", "Secret", "Secrets", "Service", "Services", "Namespace",
    "Deployment", "Deployments", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "Jobs", "CronJob",
    "Event", "Events", "Volume", "Ingress", "Endpoints", "Lease", "Role", "Binding", "Running",
    "Pending", "Succeeded", "Failed", "Unknown", "Ready", "Terminating", "Completed", "Evicted", "Error",
    "Created", "Started", "Killing", "Scheduled", "Pulling", "Pulled", "Unhealthy", "BackOff", "Docker",
    "Hub", "Kubernetes", "Linux", "Windows", "Go", "Node.js", "Ceph", "CephFS", "JuiceFS", "Longhorn",
    "Containerd", "CRI",
))  # fmt: skip
"""Single capitalised words that are Kubernetes kinds, pod phases / event reasons or product names."""
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_SEPARATOR = re.compile(r"[\s!-/:-@\[-`{-~]*")
"""What may stand between two words of one run: blanks and ASCII punctuation (not Chinese)."""


def has_chinese(text: str) -> bool:
    """Whether the text holds a Han character or CJK / full-width punctuation."""
    return _CJK.search(text) is not None


def _unplaceholder(text: str) -> str:
    """``{fact}`` -> a blank; ``{fact|fallback}`` -> its fallback (which may be translated)."""
    previous = None
    while previous != text:
        previous = text
        text = _PLACEHOLDER.sub(lambda m: f" {m.group(2) or ''} ", text)
    return _JSONPATH.sub(" ", text)


def strip_kept(text: str) -> str:
    """The text with everything a translation keeps verbatim replaced by blanks."""
    text = _CODE.sub(" ", text)
    text = _URL.sub(" ", text)
    text = _unplaceholder(text)
    for quoted in _QUOTED:
        text = quoted.sub(" ", text)
    text = _ANGLE.sub(" ", text)
    text = _COMMAND.sub(" ", text)
    text = _PATH.sub(" ", text)
    text = _SLASHED.sub(" ", text)
    text = _FLAG.sub(" ", text)
    for ident in _IDENTIFIERS:
        text = ident.sub(" ", text)
    return text


def english_runs(text: str) -> list[str]:
    """The runs of ``RUN_LENGTH`` or more English words left in a zh text after the removals."""
    rest = strip_kept(text)
    runs: list[str] = []
    current: list[str] = []
    last_end = 0

    def flush() -> None:
        if len(current) >= RUN_LENGTH:
            runs.append(" ".join(current))
        current.clear()

    for m in _WORD.finditer(rest):
        between = rest[last_end : m.start()]
        if current and _SEPARATOR.fullmatch(between) is None:
            flush()
        last_end = m.end()
        if m.group() in _KINDS:
            continue
        current.append(m.group())
    flush()
    return runs


def prose_words(text: str) -> list[str]:
    """The English words left after the removals (kinds and product names not counted): a zh text
    with any of them and no Chinese at all is an untranslated copy, however short."""
    return [w for w in _WORD.findall(strip_kept(text)) if w not in _KINDS]


# ---- the files ---------------------------------------------------------------------------------

_ENGLISH_FIELDS = ("summary", "root_cause", "remediation", "next_checks", "say", "en", "text", "explanation")
"""The user-facing English fields of an entry (``notes``, ``sources``, patterns are not checked)."""


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "requires":
                yield from _strings(item, f"{path}.{key}" if path else str(key))


def _entry_violations(entry: dict[str, Any]) -> Iterator[str]:
    for field in _ENGLISH_FIELDS:
        if field in entry:
            for where, text in _strings(entry[field], field):
                if has_chinese(text):
                    yield f"{where}: Chinese in an English text: {text!r}"
    zh = entry.get("zh")
    if zh is None:
        if any(field in entry for field in ("summary", "say", "en")):
            yield "no zh text"
        return
    for where, text in _strings(zh, "zh"):
        for run in english_runs(text):
            yield f"{where}: English run {run!r} in: {text!r}"


def _entries(doc: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """(id, entry) of a signatures file, a rules file or the evidence phrase catalogue."""
    if not isinstance(doc, dict):
        return
    for key in ("signatures", "rules", "contradictions"):
        for i, entry in enumerate(doc.get(key) or []):
            if isinstance(entry, dict):
                yield f"{key}[{i}] {entry.get('id', '?')}", entry
    phrases = doc.get("phrases")
    if isinstance(phrases, dict):
        for pid, entry in phrases.items():
            if isinstance(entry, dict):
                yield f"phrase {pid}", entry


def lint_file(path: Path) -> list[str]:
    """Every violation of one YAML file, as ``FILE: ENTRY: FIELD: what``."""
    import yaml

    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    out: list[str] = []
    for name, entry in _entries(doc):
        out.extend(f"{path}: {name}: {v}" for v in _entry_violations(entry))
    return out


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python3 tests/i18n/lint_zh.py FILE.yaml...", file=sys.stderr)
        return 2
    violations = [v for arg in argv for v in lint_file(Path(arg))]
    for v in violations:
        print(v)
    print(f"{len(violations)} violation(s) in {len(argv)} file(s)", file=sys.stderr)
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
