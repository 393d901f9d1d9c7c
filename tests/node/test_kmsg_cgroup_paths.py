"""Cgroup paths of both kubelet cgroup drivers, both cgroup versions and every runtime map to the
pod UID and container id; paths of host services and look-alikes map to nothing. Layouts per
kubernetes/kubernetes:pkg/kubelet/cm/cgroup_manager_linux.go (ToSystemd escapes "-" to "_") and
the runtimes' scope prefixes (containerd "cri-containerd", CRI-O "crio"/"crio-conmon", dockerd
"docker"), all as seen in the corpus under tests/corpus/kernel."""

from __future__ import annotations

import pytest

from podsleuth.node import cgroup

UID = "6f3e7ed1-49d5-46b3-ab82-0adc4d2946d3"
U_ = UID.replace("-", "_")
CID = "7aa16f1abb7d12bdc913ed2c3d74a574637c7922284e957a109814822dca8c42"
STATIC = "380f9f452fbec8d3f2c4f5096f8d0eb8"


@pytest.mark.parametrize(("path", "want"), [
    (f"/kubepods/burstable/pod{UID}/{CID}", (UID, "burstable", "cgroupfs", CID, None)),
    (f"/kubepods/besteffort/pod{UID}", (UID, "besteffort", "cgroupfs", None, None)),
    (f"/kubepods/pod{UID}/{CID}", (UID, "guaranteed", "cgroupfs", CID, None)),
    (f"/kubepods/burstable/pod{UID}/crio-{CID}", (UID, "burstable", "cgroupfs", CID, "cri-o")),
    (f"/kubepods/burstable/pod{STATIC}/{CID}", (STATIC, "burstable", "cgroupfs", CID, None)),
    (f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{U_}.slice/"
     f"cri-containerd-{CID}.scope", (UID, "burstable", "systemd", CID, "containerd")),
    (f"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{U_}.slice/docker-{CID}.scope",
     (UID, "besteffort", "systemd", CID, "docker")),
    (f"/kubepods.slice/kubepods-pod{U_}.slice/crio-{CID}.scope",
     (UID, "guaranteed", "systemd", CID, "cri-o")),
    (f"/kubepods.slice/kubepods-pod{U_}.slice", (UID, "guaranteed", "systemd", None, None)),
    (f"/docker/{CID}/kubepods/burstable/pod{UID}/{CID}", (UID, "burstable", "cgroupfs", CID, None)),
    (f"/lxc.payload.x-lxc/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{U_}.slice",
     (UID, "burstable", "systemd", None, None)),
])
def test_pod_and_container_of_each_layout(path: str, want: tuple[object, ...]) -> None:
    pc = cgroup.parse(path)
    assert pc is not None
    assert (pc.pod_uid, pc.qos, pc.driver, pc.container_id, pc.runtime) == want


def test_crio_conmon_scope_is_the_pod_not_a_container() -> None:
    pc = cgroup.parse(f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{U_}.slice/"
                      f"crio-conmon-{CID}.scope")
    assert pc is not None and pc.pod_uid == UID and pc.conmon is True


@pytest.mark.parametrize("path", [
    "/system.slice/containerd.service",
    "/podruntime.slice/kubelet.service",
    "/system.slice/docker-00748bf4e957f82c239a1db8a88579059b7d40c7b5fbd3f43617d31d3f646f12.scope",
    "/system.slice/garden.service/garden/good/db315859-a870-4d77-50f9-02b6",
    f"/kubepods/burstable/pod{UID}x/{CID}",  # not a whole component
    f"/kubepods/burstable/pod{UID[:-1]}/{CID}",
    "",
])
def test_paths_that_are_not_pods(path: str) -> None:
    assert cgroup.parse(path) is None


def test_a_leaf_that_is_not_a_container_id_keeps_only_the_pod() -> None:
    pc = cgroup.parse(f"/kubepods/burstable/pod{UID}/feedfacecafe")
    assert pc is not None and pc.container_id is None
