"""Each form an operator can hand ``node check --kernel-log`` is peeled to the kernel's text and
its stamp: /dev/kmsg, dmesg and its time formats, journald/syslog forms; other programs' journal
lines are dropped. Renderings are the real tools' (util-linux dmesg 2.38, journalctl)."""

from __future__ import annotations

import calendar

import pytest

from podsleuth.node import kmsg

TEXT = "Memory cgroup out of memory: Killed process 553 (python3) total-vm:49368kB, anon-rss:39424kB"


@pytest.mark.parametrize(("raw", "mono", "wall"), [
    (f"3,904,2052957242,-;{TEXT}", 2052.957242, None),                        # /dev/kmsg
    (f"[ 2052.957242] {TEXT}", 2052.957242, None),                            # dmesg
    (f"<3>[ 2052.957242] {TEXT}", 2052.957242, None),                         # dmesg -r
    (f"kern  :err   : [ 2052.957242] {TEXT}", 2052.957242, None),             # dmesg -x
    (f"[<    0.000011>] {TEXT}", None, None),                                 # dmesg --time-format delta
    (f"[  +0.000011] {TEXT}", None, None),                                    # dmesg --time-format reltime
    (f"[Dec 3 06:52] {TEXT}", None, None),
    (f"[Thu Dec  3 06:52:25 2026] {TEXT}", None, calendar.timegm((2026, 12, 3, 6, 52, 25, 0, 0, 0))),
    (f"2026-12-03T06:52:25,956747+00:00 {TEXT}", None,                        # dmesg --time-format iso
     calendar.timegm((2026, 12, 3, 6, 52, 25, 0, 0, 0)) + 0.956747),
    (f"2026-12-03T07:52:25+0100 node-1 kernel: {TEXT}", None,                 # journalctl -o short-iso
     calendar.timegm((2026, 12, 3, 6, 52, 25, 0, 0, 0))),
    (f"Dec 03 06:52:25 node-1 kernel: {TEXT}", None, None),                   # journalctl -k (short)
    (f"Dec  3 06:52:25.050705 node-1 kernel: {TEXT}", None, None),            # short-precise
    (f"[ 2052.957242] node-1 kernel: {TEXT}", 2052.957242, None),             # short-monotonic
    (f"May 15 23:09:30 host kernel: [ 2052.957242] {TEXT}", 2052.957242, None),  # kern.log
    (f" kernel:[2052.957242] {TEXT}", 2052.957242, None),                     # syslogd wall message
    (f"kernel: {TEXT}", None, None),
    (TEXT, None, None),
])
def test_every_form_yields_the_text_and_its_stamp(raw: str, mono: float | None, wall: float | None) -> None:
    ll = kmsg.split_line(raw)
    assert ll is not None and ll.text == TEXT
    assert ll.monotonic == (pytest.approx(mono) if mono is not None else None)
    assert ll.wall == (pytest.approx(wall) if wall is not None else None)


@pytest.mark.parametrize("raw", [
    'Sep 20 15:21:56 ida-lj4700146 dockerd[3171]: level=error msg="Killed process 1 (x)"',
    'Dec 11 10:48:08 fkhan-test-kernelv3 dockerd: time="2018-12-11T10:48:08-06:00" level=info msg="x"',
    "2024-05-14T09:12:01+0000 ip-10-0-3-17 kubelet[1203]: Killed process 1 (x) total-vm:1kB",
    " SUBSYSTEM=block",
    "",
])
def test_other_programs_and_kmsg_dictionary_lines_are_dropped(raw: str) -> None:
    assert kmsg.split_line(raw) is None


def test_wall_clock_of_the_line_wins_over_boot_time() -> None:
    (ev,) = kmsg.parse_lines([f"[Thu Dec  7 00:05:15 2017] {TEXT}"], boot_time=1_000_000.0)
    assert ev.time == calendar.timegm((2017, 12, 7, 0, 5, 15, 0, 0, 0))
    (ev,) = kmsg.parse_lines([f"[ 10.5] {TEXT}"], boot_time=1_000_000.0)
    assert ev.time == pytest.approx(1_000_010.5)
