"""The kernel OOM killer's lines, from 2.6.32 to 6.x, turned into one event per killed process.

Why a state machine: a kill is spread over several lines whose wording changed with nearly every
kernel generation (mm/oom_kill.c, mm/memcontrol.c):

* ``<comm> invoked oom-killer: ...`` opens an episode (a pid seen before it is another process);
* 2.6.32-5.0: ``<why>: Kill process N (comm) score S or sacrifice child`` only *selects*; the
  kernel may then kill a child instead, so the victim is the next ``Killed process M (comm) ...``;
  old kernels said ``kill process ... or a child``;
* the kill itself: ``Killed process N (comm) total-vm:...`` (3.x-4.x), ``<why>: Killed process N
  (comm) total-vm:..., UID:U pgtables:...`` (5.x+), RHEL's ``Killed process N (comm), UID U, ...`` and
  RHEL 6's ``Killed process N, UID U, (comm) ...``; short forms without ``total-vm`` exist too;
* 4.19+: ``oom-kill:constraint=...,oom_memcg=...,task_memcg=...,task=C,pid=N,uid=U`` names the
  victim's cgroup; before that cgroup v1 said ``Task in <cg> killed as a result of limit of <cg>``
  and ``Memory cgroup stats for <cg>:`` (the limit memcg first);
* 4.19+ ``Tasks in <cg> are going to be killed due to memory.oom.group set``: several victims;
* 4.6+ ``oom_reaper: reaped process N (comm), now anon-rss:...`` comes after the kill, sometimes
  after the next episode began; on its own it is still proof of a kill.

Comms are up to 15 bytes of anything, parentheses included (``(sd-pam)``), so they are matched up
to the literal that follows them, never with a plain ``[^)]*``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

_WHY = r"(?:(Out of [Mm]emory|Memory cgroup out of memory)(?: \([^)]*\))?: )?"
INVOKED = re.compile(r"^(.*?) invoked oom-killer:")
_SELECT = re.compile(_WHY + r"[Kk]ill process (\d+) \((.*?)\) (?:score|points) (\d+) "
                     r"or (?:sacrifice|a) child")
#: the comm runs to the *last* ``) total-vm`` (a comm may itself contain ") total-vm:"), else to
#: the first ``)`` followed by a separator; a line cut right after ``(`` still names the pid
_KILLED = re.compile(_WHY + r"Killed process (\d+)(?:, UID (\d+),)?"
                     r"(?: \((.*)\)(?=,? UID \d+, total-vm| total-vm:)"
                     r"| \((.*?)\)(?=,? UID|,? total-vm|[\s,.;]|$)| ?\(?$)")
#: a row of the task dump (``[  pid  ]   uid  tgid total_vm ... name``): names a pid whose kill
#: line lost its comm (a log cut mid-line)
_TASK_ROW = re.compile(r"^\s*\[\s*(\d+)\]\s+\d+\s+\d+\s+\d+\s.*\s(\S+)$")
_SPARED = re.compile(r"Would have killed process (\d+) ")  # RHEL 6 vm.would_have_oomkilled: no kill
_SHARED = re.compile(r"Kill process (\d+) \((.*?)\) sharing same memory")
_REAPED = re.compile(r"oom_reaper: reaped process (\d+) \((.*?)\), now anon-rss:(\d+)kB")
_SUMMARY = re.compile(r"oom-kill:(constraint=.*)$")
_SUMMARY_TAIL = re.compile(r",task=(.*),pid=(\d+),uid=(\d+)\s*$")
_TASK_IN = re.compile(r"Task in (\S+) killed as a result of limit of (\S+)")
_STATS = re.compile(r"Memory cgroup stats for (/\S*?):(?:\s|$)")
_GROUP = re.compile(r"Tasks in (\S+) are going to be killed due to memory\.oom\.group set")
_FIELDS = {"total_vm_kb": re.compile(r".*total-vm:(\d+)kB"), "anon_rss_kb": re.compile(r"anon-rss:(\d+)kB"),
           "file_rss_kb": re.compile(r"file-rss:(\d+)kB"), "shmem_rss_kb": re.compile(r"shmem-rss:(\d+)kB"),
           "uid": re.compile(r"UID[: ](\d+)"), "oom_score_adj": re.compile(r"oom_score_adj:(-?\d+)")}
#: a reaper line further than this from its kill (seconds) is about another process with that pid
_REAP_WINDOW = 120.0


class Line(Protocol):
    @property
    def text(self) -> str: ...
    @property
    def monotonic(self) -> float | None: ...
    @property
    def wall(self) -> float | None: ...


class Event(Protocol):
    message: str
    data: dict[str, object]


E = TypeVar("E", bound=Event)


@dataclass(slots=True)
class _Selected:
    pid: int
    comm: str
    score: int
    scope: str | None
    line: Line


@dataclass(slots=True)
class OomTracker(Generic[E]):
    """Feed it every line; it appends one ``oom-kill`` event per victim to ``events``
    (made by ``new_event(kind, line, data)``)."""

    events: list[E]
    new_event: Callable[[str, Line, dict[str, object]], E]
    _episode: dict[int, E] = field(default_factory=dict)
    _recent: dict[int, tuple[E, float | None]] = field(default_factory=dict)
    _task_cg: tuple[str, str] | None = None
    _limit_cg: str | None = None
    _selected: _Selected | None = None
    _trigger: str | None = None
    _killed: bool = False  # a victim was named since the episode's header lines
    _names: dict[int, str] = field(default_factory=dict)

    def feed(self, line: Line) -> bool:
        """True when the line was an OOM line (so other parsers can skip it)."""
        t = line.text
        if m := INVOKED.search(t):
            self._new_episode(m.group(1).strip())
        elif m := _TASK_IN.search(t):
            self._header()
            self._task_cg = (m.group(1), m.group(2))
        elif m := _GROUP.search(t):  # follows the first kill of the same episode
            self._limit_cg = m.group(1)
        elif m := _STATS.search(t):
            self._header()
            self._limit_cg = self._limit_cg or m.group(1)
        elif m := _TASK_ROW.match(t):
            self._names[int(m.group(1))] = m.group(2)
        elif m := _SUMMARY.search(t):
            self._summary(m.group(1), line)
        elif m := _SELECT.search(t):
            self.flush()
            self._selected = _Selected(int(m.group(2)), m.group(3), int(m.group(4)), _scope(m.group(1)), line)
        elif m := _KILLED.search(t):
            pid = int(m.group(2))
            comm = m.group(4) if m.group(4) is not None else m.group(5)
            ev = self._victim(pid, comm or self._names.get(pid), line, scope=_scope(m.group(1)))
            ev.message = t
            ev.data.setdefault("format", "modern" if m.group(1) else "legacy")
            for key, rx in _FIELDS.items():
                if (f := rx.search(t)) and key not in ev.data:
                    ev.data[key] = int(f.group(1))
            if m.group(3):
                ev.data["uid"] = int(m.group(3))
            sel, self._selected = self._selected, None
            if sel is not None:
                if sel.pid == pid:
                    ev.data["score"] = sel.score
                else:  # "or sacrifice child": the selected parent lives, its child died
                    ev.data.update(selected_pid=sel.pid, selected_comm=sel.comm)
                if sel.scope and "scope" not in ev.data:
                    ev.data["scope"] = sel.scope
        elif m := _SPARED.search(t):
            if self._selected is not None and self._selected.pid == int(m.group(1)):
                self._selected = None
        elif m := _SHARED.search(t):
            self._victim(int(m.group(1)), m.group(2), line).data["shared_mm"] = True
        elif m := _REAPED.search(t):
            self._reaped(int(m.group(1)), m.group(2), line)
        else:
            return False
        return True

    def _new_episode(self, trigger: str | None) -> None:
        self.flush()
        self._episode.clear()
        self._names.clear()
        self._task_cg, self._limit_cg, self._trigger, self._killed = None, None, trigger, False

    def _header(self) -> None:
        """A memcg header line after a kill starts the next kill's context even without its
        ``invoked oom-killer`` line (grep'd or rate-limited logs): the old cgroup must not stick."""
        if self._killed:
            self._new_episode(None)

    def flush(self) -> None:
        """A selection never followed by its ``Killed process`` line (log cut short) still
        names the process the kernel went on to kill (or whose child it killed)."""
        sel, self._selected = self._selected, None
        if sel is not None:
            ev = self._victim(sel.pid, sel.comm, sel.line, scope=sel.scope)
            ev.data.update(score=sel.score, format="legacy", selected_only=True)

    def _summary(self, body: str, line: Line) -> None:
        tail = _SUMMARY_TAIL.search(body)
        if tail is None:
            return
        head = dict(p.partition("=")[::2] for p in body[:tail.start()].split(","))
        ev = self._victim(int(tail.group(2)), tail.group(1), line)
        constraint = head.get("constraint") or None
        ev.data.update(constraint=constraint, uid=int(tail.group(3)))
        if constraint:
            ev.data.setdefault("scope", "memcg" if constraint == "CONSTRAINT_MEMCG" else "global")
        if head.get("task_memcg"):
            ev.data["cgroup"] = head["task_memcg"]
        if head.get("oom_memcg"):
            ev.data["limit_cgroup"] = head["oom_memcg"]

    def _victim(self, pid: int, comm: str | None, line: Line, *, scope: str | None = None) -> E:
        ev = self._episode.get(pid)
        if ev is None:
            ev = self.new_event("oom-kill", line, {"pid": pid})
            self._episode[pid] = ev
            self.events.append(ev)
            if self._task_cg is not None:
                ev.data.update(cgroup=self._task_cg[0], limit_cgroup=self._task_cg[1])
                self._task_cg = None
            elif self._limit_cg is not None:
                ev.data["limit_cgroup"] = self._limit_cg
            if self._trigger:
                ev.data["trigger"] = self._trigger
            self._killed = True
        if comm is not None:
            ev.data.setdefault("comm", comm)
        if scope and "scope" not in ev.data:
            ev.data["scope"] = scope
        self._recent[pid] = (ev, line.monotonic)
        return ev

    def _reaped(self, pid: int, comm: str, line: Line) -> None:
        seen = self._recent.get(pid)
        if seen is not None and (seen[1] is None or line.monotonic is None
                                 or abs(line.monotonic - seen[1]) <= _REAP_WINDOW):
            seen[0].data["reaped"] = True
            return
        ev = self._victim(pid, comm, line)
        ev.data.update(reaped=True, format="reaper-only")


def _scope(why: str | None) -> str | None:
    if not why:
        return None
    return "memcg" if why.startswith("Memory") else "global"
