"""How ``captured_6_18*.yaml`` were made: real memcg OOM kills on this machine's kernel, in cgroups
named exactly as the kubelet and the runtimes name them, rendered by the real tools.

Not a test (nothing collects it); run by hand as root on a host with the cgroup v1 memory
controller at /sys/fs/cgroup/memory::

    python3 tests/corpus/kernel/capture_oom.py > /tmp/captures.json

For each layout it creates the cgroup (the systemd-driver names are plain directories here: the
kernel prints the path, not how it was made), sets a 32-48 MiB limit, starts a process that
allocates until the kernel kills it (its comm set with prctl), then reads the new /dev/kmsg
records and the same records as ``dmesg``, ``-T``, ``--time-format iso|delta|reltime``, ``-r``,
``-x`` and ``-t`` print them, and removes the cgroups. The YAML cases take the pid from the
kernel's own ``Killed process`` line and the pod uid / container id from the path created here.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import uuid
from pathlib import Path

MEMCG = Path("/sys/fs/cgroup/memory")
HOG = ("import ctypes,os,sys\nctypes.CDLL(None).prctl(15, sys.argv[2].encode(), 0, 0, 0)\n"
       "open(sys.argv[1],'a').write(str(os.getpid()))\nb=[]\nwhile True: b.append(bytearray(4<<20))\n")
RENDER = {"dmesg": ["dmesg"], "dmesg-T": ["dmesg", "-T"], "iso": ["dmesg", "--time-format", "iso"],
          "raw": ["dmesg", "-r"], "dmesg-x": ["dmesg", "-x"], "dmesg-t": ["dmesg", "-t"],
          "delta": ["dmesg", "--time-format", "delta"], "reltime": ["dmesg", "--time-format", "reltime"]}


def kmsg_records() -> list[str]:
    fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    out: list[str] = []
    try:
        while True:
            try:
                rec = os.read(fd, 8192)
            except BlockingIOError:
                break
            except OSError:  # EPIPE: overwritten while reading
                continue
            out.append(rec.decode("utf-8", "replace").rstrip("\n"))
    finally:
        os.close(fd)
    return out


def _seq(record: str) -> int:
    return int(record.split(",")[1])


def capture(name: str, rel: str, limit_at: str, comms: list[str]) -> dict[str, object]:
    cg = MEMCG / rel
    cg.mkdir(parents=True)
    try:
        (MEMCG / limit_at / "memory.limit_in_bytes").write_text(str(48 << 20))
        last = _seq(kmsg_records()[-1])
        procs = [subprocess.Popen([sys.executable, "-c", HOG, str(cg / "cgroup.procs"), c]) for c in comms]
        for p in procs:
            p.wait(timeout=60)
        time.sleep(0.3)
        records = [r for r in kmsg_records() if _seq(r) > last]
        forms: dict[str, list[str]] = {"kmsg": records}
        for form, argv in RENDER.items():
            out = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True).stdout
            forms[form] = out.splitlines()[-len(records):]
        return {"name": name, "cgroup": "/" + rel, "limit_at": "/" + limit_at, "comms": comms,
                "exit": [p.returncode for p in procs], "forms": forms}
    finally:
        parts = Path(rel).parts
        for i in range(len(parts), 0, -1):
            d = MEMCG.joinpath(*parts[:i])
            for _ in range(50):
                try:
                    if d.exists():
                        d.rmdir()
                    break
                except OSError:  # the killed task is still leaving the cgroup
                    time.sleep(0.1)


def main() -> None:
    def ids() -> tuple[str, str, str]:
        u = str(uuid.uuid4())
        return u, u.replace("-", "_"), secrets.token_hex(32)

    slices = "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{us}.slice"
    layouts: list[tuple[str, str, str | None, list[str]]] = [
        ("cgroupfs-burstable-containerd", "kubepods/burstable/pod{u}/{c}", None, ["python3"]),
        ("cgroupfs-besteffort-podlimit", "kubepods/besteffort/pod{u}/{c}", "kubepods/besteffort/pod{u}",
         ["python3"]),
        ("cgroupfs-guaranteed", "kubepods/pod{u}/{c}", None, ["python3"]),
        ("systemd-burstable-containerd", slices + "/cri-containerd-{c}.scope", None, ["python3"]),
        ("systemd-guaranteed-crio-podlimit", "kubepods.slice/kubepods-pod{us}.slice/crio-{c}.scope",
         "kubepods.slice/kubepods-pod{us}.slice", ["python3"]),
        ("systemd-besteffort-docker", "kubepods.slice/kubepods-besteffort.slice/"
         "kubepods-besteffort-pod{us}.slice/docker-{c}.scope", None, ["python3"]),
        ("cgroupfs-burstable-crio", "kubepods/burstable/pod{u}/crio-{c}", None, ["python3"]),
        ("host-service", "system.slice/containerd.service", None, ["python3"]),
        ("systemd-crio-conmon", slices + "/crio-conmon-{c}.scope", None, ["python3"]),
        ("kind-nested-cgroupfs", "docker/{n}/kubepods/burstable/pod{u}/{c}", None, ["python3"]),
        ("cgroupfs-static-pod", "kubepods/burstable/pod{static}/{c}", None, ["python3"]),
        *[(f"comm {c}", "kubepods/burstable/pod{u}/{c}", None, [c]) for c in
          ("(sd-pam)", "runc:[2:INIT]", "CPU 0/KVM", "x) total-vm:1kB", "a, UID 0, (b)", "kworker/u8:1")],
        ("three kills", slices + "/cri-containerd-{c}.scope", None, ["worker-a", "worker-b", "worker-c"]),
    ]
    out = []
    for name, rel_t, limit_t, comms in layouts:
        u, us, c = ids()
        fill = {"u": u, "us": us, "c": c, "n": secrets.token_hex(32), "static": secrets.token_hex(16)}
        rel = rel_t.format(**fill)
        out.append(capture(name, rel, (limit_t or rel_t).format(**fill), comms))
    json.dump(out, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
