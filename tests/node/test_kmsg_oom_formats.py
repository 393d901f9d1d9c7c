"""Every OOM victim-line wording of mm/oom_kill.c / mm/memcontrol.c becomes exactly one victim,
and lines that only look like a kill (a selection the kernel revised, RHEL 6's "would have
killed", a header without a kill) name none. Lines are the kernels' format strings as quoted in
tests/corpus/kernel (sources there)."""

from __future__ import annotations

import pytest

from podsleuth.node import kmsg

POD = "0330b2c1-a15b-4cdd-b5e5-72d4a90bee82"
CID = "b27201334a41cd0749d053b18378d7ea65617b8e26277197ea25c974da1a5a8a"
SYSTEMD_CG = (f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{POD.replace('-', '_')}.slice/"
              f"docker-{CID}.scope")


def victims(text: str) -> list[tuple[int, object]]:
    return [(int(str(e.data["pid"])), e.data.get("comm")) for e in kmsg.parse_lines(text.splitlines())
            if e.kind == "oom-kill"]


@pytest.mark.parametrize(("line", "pid", "comm"), [
    # 2.6.36-4.x, without the "%s: " prefix
    ("Killed process 28438 (java) total-vm:20255636kB, anon-rss:466160kB, file-rss:13684kB", 28438, "java"),
    # 4.6+ shmem-rss
    ("Killed process 4254 (python3) total-vm:11968kB, anon-rss:4288kB, file-rss:3972kB, shmem-rss:0kB",
     4254, "python3"),
    # RHEL 7 backport
    ("Killed process 799153 (node), UID 1000, total-vm:606096kB, anon-rss:68308kB, file-rss:13648kB, "
     "shmem-rss:0kB", 799153, "node"),
    # RHEL 6 (2.6.32) backport: UID before the comm
    ("Killed process 31337, UID 500, (java) total-vm:8388608kB, anon-rss:7340032kB, file-rss:1024kB",
     31337, "java"),
    # 5.x+ with the reason prefix, UID, pgtables
    ("Memory cgroup out of memory: Killed process 63214 (uwsgi) total-vm:3149468kB, anon-rss:164992kB, "
     "file-rss:52176kB, shmem-rss:92kB, UID:0 pgtables:1372kB oom_score_adj:986", 63214, "uwsgi"),
    ("Out of memory: Killed process 2210 (node) total-vm:1202112kB, anon-rss:990412kB, file-rss:3220kB, "
     "shmem-rss:0kB, UID:1001", 2210, "node"),
    # no total-vm at all (old kernels, event texts), and one cut right after "("
    ("Out of Memory: Killed process 1234 (java).", 1234, "java"),
    ("Killed process 62769 (", 62769, None),
])
def test_each_victim_line_is_one_victim(line: str, pid: int, comm: str | None) -> None:
    assert victims(line) == [(pid, comm)]


@pytest.mark.parametrize("comm", ["(sd-pam)", "runc:[2:INIT]", "CPU 0/KVM", "a, UID 0, (b)"])
def test_comms_with_parentheses_commas_and_spaces(comm: str) -> None:
    line = f"Memory cgroup out of memory: Killed process 10294 ({comm}) total-vm:65948kB, anon-rss:56064kB"
    assert victims(line) == [(10294, comm)]


def test_a_comm_that_imitates_the_line_is_taken_from_the_summary() -> None:
    log = ("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/a,"
           "task_memcg=/a,task=x) total-vm:1kB,pid=10371,uid=0\n"
           "Memory cgroup out of memory: Killed process 10371 (x) total-vm:1kB) total-vm:66064kB, "
           "anon-rss:1kB")
    (ev,) = kmsg.parse_lines(log.splitlines())
    assert ev.data["comm"] == "x) total-vm:1kB" and ev.data["total_vm_kb"] == 66064


def test_sacrificed_child_is_the_victim_not_the_selected_parent() -> None:
    log = ("Memory cgroup out of memory: Kill process 4142 (python3) score 68 or sacrifice child\n"
           "Killed process 4254 (python3) total-vm:11968kB, anon-rss:4288kB, file-rss:3972kB, shmem-rss:0kB\n"
           "Memory cgroup out of memory: Kill process 4142 (python3) score 68 or sacrifice child\n"
           "Killed process 4255 (python3) total-vm:11968kB, anon-rss:4288kB, file-rss:3972kB, "
           "shmem-rss:0kB\n")
    evs = kmsg.parse_lines(log.splitlines())
    assert [e.data["pid"] for e in evs] == [4254, 4255]
    assert evs[0].data["selected_pid"] == 4142 and evs[0].data["scope"] == "memcg"


@pytest.mark.parametrize("line", [
    "Memory cgroup out of memory: Kill process 4481 (stress) score 1994 or sacrifice child",
    "Out of memory (oom_kill_allocating_task): Kill process 4100 (stress) score 0 or sacrifice child",
    "Out of memory: kill process 4481 (stress) score 900 or a child",
])
def test_a_selection_alone_still_names_the_process(line: str) -> None:
    (ev,) = kmsg.parse_lines([line])
    assert ev.data["pid"] in (4481, 4100) and ev.data["selected_only"] is True


def test_would_have_killed_is_no_kill() -> None:
    log = ("Out of memory: Kill process 31337 (java) score 903 or sacrifice child\n"
           "Would have killed process 31337 (java). But continuing instead.\n")
    assert victims(log) == []


def test_processes_sharing_the_mm_are_victims_too() -> None:
    log = ("Out of memory: Kill process 7001 (qemu-kvm) score 870 or sacrifice child\n"
           "Killed process 7001 (qemu-kvm) total-vm:9437184kB, anon-rss:8388608kB, file-rss:4096kB\n"
           "Kill process 7019 (qemu-kvm) sharing same memory\n")
    assert victims(log) == [(7001, "qemu-kvm"), (7019, "qemu-kvm")]


def test_oom_reaper_line_alone_is_a_kill_and_merges_with_its_kill() -> None:
    reaper = "oom_reaper: reaped process 17725 (python), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB"
    (alone,) = kmsg.parse_lines([reaper])
    assert alone.data["pid"] == 17725 and alone.data["format"] == "reaper-only"
    both = kmsg.parse_lines([
        "[ 7063.2] Memory cgroup out of memory: Killed process 17725 (python) total-vm:1kB, anon-rss:1kB",
        "[ 7093.5] uwsgi invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=986",
        f"[ 7093.6] {reaper}",  # after the next episode began: still the same kill
    ])
    assert len(both) == 1 and both[0].data["reaped"] is True


def test_header_and_stack_without_a_kill_line_name_nobody() -> None:
    log = ("java invoked oom-killer: gfp_mask=0xd0, order=0, oom_score_adj=-998\n"
           "java cpuset=bf2d7043c1267b4dfd8fdb356653a73070a8db8dfd7e2e4d74700edcaef7b548 mems_allowed=0\n"
           f"Task in {SYSTEMD_CG} killed as a result of limit of {SYSTEMD_CG}\n"
           "memory: usage 1048576kB, limit 1048576kB, failcnt 189\n")
    assert victims(log) == []


def test_v1_task_in_line_maps_pod_and_container_of_the_systemd_driver() -> None:
    log = (f"Task in {SYSTEMD_CG} killed as a result of limit of {SYSTEMD_CG}\n"
           "Memory cgroup out of memory: Kill process 21284 (envoy) score 1000 or sacrifice child\n"
           "Killed process 21284 (envoy) total-vm:1kB, anon-rss:1kB, file-rss:0kB\n")
    (ev,) = kmsg.parse_lines(log.splitlines())
    assert (ev.data["pod_uid"], ev.data["container_id"], ev.data["runtime"]) == (POD, CID, "docker")
    assert ev.data["cgroup_driver"] == "systemd" and ev.data["qos"] == "burstable"


def test_memory_oom_group_kills_every_member_once() -> None:
    scope = f"/kubepods.slice/kubepods-pod{POD.replace('-', '_')}.slice/cri-containerd-{CID}.scope"
    killed = "Memory cgroup out of memory: Killed process {} (gunicorn) total-vm:1kB, anon-rss:1kB, UID:0"
    log = "\n".join([
        f"oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg={scope},"
        f"task_memcg={scope},task=gunicorn,pid=3310,uid=1000",
        killed.format(3310),
        f"Tasks in {scope} are going to be killed due to memory.oom.group set",
        killed.format(3301), killed.format(3310), killed.format(3322)])
    evs = kmsg.parse_lines(log.splitlines())
    assert sorted(int(str(e.data["pid"])) for e in evs) == [3301, 3310, 3322]
    assert {e.data["container_id"] for e in evs} == {CID} and {e.data["qos"] for e in evs} == {"guaranteed"}


def test_grepped_memcg_ooms_do_not_inherit_the_previous_cgroup() -> None:
    log = ("Memory cgroup stats for /kubepods/burstable/pod0a0a0a0a-1b1b-4c2c-8d3d-4e4e4e4e4e4e:\n"
           "Memory cgroup out of memory: Killed process 1201 (worker) total-vm:1kB, anon-rss:1kB\n"
           "Memory cgroup stats for /kubepods/besteffort/pod5f5f5f5f-6a6a-4b7b-8c8c-9d9d9d9d9d9d:\n"
           "Memory cgroup out of memory: Killed process 2202 (worker) total-vm:1kB, anon-rss:1kB\n")
    evs = kmsg.parse_lines(log.splitlines())
    assert [e.data["pod_uid"] for e in evs] == ["0a0a0a0a-1b1b-4c2c-8d3d-4e4e4e4e4e4e",
                                                 "5f5f5f5f-6a6a-4b7b-8c8c-9d9d9d9d9d9d"]


def test_global_oom_summary_names_a_host_container_but_no_pod() -> None:
    line = ("oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=aegis,mems_allowed=0,global_oom,"
            "task_memcg=/system.slice/docker-00748bf4e957f82c239a1db8a88579059b7d40c7b5fbd3f43617d31d3f646f12"
            ".scope,task=java,pid=7134,uid=1000")
    (ev,) = kmsg.parse_lines([line])
    assert ev.data["scope"] == "global" and ev.data["uid"] == 1000
    assert "pod_uid" not in ev.data and "container_id" not in ev.data
