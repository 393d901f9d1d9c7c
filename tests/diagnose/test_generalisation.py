"""Signatures recognise the structure of a message, not the strings they were written from.

Messages here are built from the runtimes' and the kubelet's format strings with other paths,
kubelet roots, pod UIDs, volume names, errnos, versions and registries than the catalogue's.
"""

from __future__ import annotations

import itertools

import pytest

from podsleuth.diagnose.extractors import EXTRACTORS
from podsleuth.diagnose.knowledge import KnowledgeBase

UID = "3f9a0c1e-77d2-4a8b-9c3d-2e1f0a9b8c7d"
PV = "pvc-91c2e0aa-5b1f-4c3e-8d7a-0f6e5d4c3b2a"
ROOTS = ["/data/kubernetes/kubelet", "/var/lib/kubelet", "/mnt/disk1/k8s/kubelet"]
ERRNOS = {
    "ENOENT": "no such file or directory",
    "EPERM": "operation not permitted",
    "ENOTDIR": "not a directory",
}


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.default()


def csi(root: str, uid: str = UID, pv: str = PV) -> str:
    return f"{root}/pods/{uid}/volumes/kubernetes.io~csi/{pv}/mount"


# The runc generations, written from their format strings (see the catalogue notes):
#   <= 1.0.3:  rootfs_linux.go:N: mounting %q to rootfs at %q caused: mount through procfd: %w
#   1.1.x:     error mounting %q to rootfs at %q: mount SRC:DST (via /proc/self/fd/N), flags: 0x..: %w
#   1.2.0-6:   ... mount src=SRC, dst=DST, dstFd=/proc/thread-self/fd/N, flags=0x5000: %w
#   >= 1.2.7:  ... mount src=SRC, srcType=bind, srcFd=..., dst=DST, dstFd=..., flags=MS_BIND|MS_REC: %w
def runc(gen: str, src: str, dst: str, err: str, fd: int = 23) -> str:
    if gen == "runc-1.0":
        return (
            "container_linux.go:380: starting container process caused: process_linux.go:545: container init "
            f'caused: rootfs_linux.go:76: mounting "{src}" to rootfs at "{dst}" caused: mount through '
            f"procfd: {err}"
        )
    head = (
        "runc create failed: unable to start container process: error during container init: error "
        f'mounting "{src}" to rootfs at "{dst}": '
    )
    if gen == "runc-1.1":
        return head + f"mount {src}:{dst} (via /proc/self/fd/{fd}), flags: 0x5000: {err}"
    if gen == "runc-1.2":
        return head + f"mount src={src}, dst={dst}, dstFd=/proc/thread-self/fd/{fd}, flags=0x5000: {err}"
    return (
        head + f"mount src={src}, srcType=bind, srcFd=/proc/thread-self/fd/{fd + 1}, dst={dst}, "
        f"dstFd=/proc/thread-self/fd/{fd}, flags=MS_BIND|MS_REC: {err}"
    )


WRAPPERS = {
    "containerd-1.5": "Error: failed to create containerd task: failed to create shim: OCI runtime create "
    "failed: {}: unknown",
    "containerd-1.6+": "Error: failed to create containerd task: failed to create shim task: OCI runtime "
    "create failed: {}: unknown",
    "cri-o": "container create failed: {}",
    "dockershim": 'Error: failed to start container "app": Error response from daemon: OCI runtime create '
    "failed: {}: unknown",
}
GENERATIONS = ["runc-1.0", "runc-1.1", "runc-1.2", "runc-1.2.7+"]


@pytest.mark.parametrize(("gen", "wrapper", "root"), list(itertools.product(GENERATIONS, WRAPPERS, ROOTS)))
def test_runc_enoent_on_csi_mount_is_the_stale_csi_bind(
    kb: KnowledgeBase, gen: str, wrapper: str, root: str
) -> None:
    msg = WRAPPERS[wrapper].format(runc(gen, csi(root), "/var/lib/mysql", ERRNOS["ENOENT"]))
    r = kb.classify(msg, reason="RunContainerError")
    assert r.signature == "runc-procfd-enoent-stale-fuse-csi-bind", msg
    assert r.category == "container-start"
    assert r.facts["kubelet_root"] == root
    assert r.facts["pod_uid"] == UID
    assert r.facts["volume_plugin"] == "kubernetes.io~csi"
    assert r.facts["volume"] == PV
    assert r.facts["errno"] == "ENOENT"
    assert r.facts["runtime_generation"] == gen
    assert r.facts["mount_source"] == csi(root)
    assert r.facts["mount_target"] == "/var/lib/mysql"
    assert len(r.candidates) >= 2 and r.candidates[0][1] > r.candidates[1][1]


GENERIC_ENOENT = {
    "runc-1.0": "runc-1.0-procfd-generic",
    "runc-1.1": "runc-1.1-via-procfd-enoent",
    "runc-1.2": "runc-1.2-dstfd-format",
    "runc-1.2.7+": "runc-1.2-dstfd-format",
}


@pytest.mark.parametrize("gen", GENERATIONS)
@pytest.mark.parametrize(
    "src",
    [
        "/srv/data/mysql",  # hostPath
        f"/var/lib/kubelet/pods/{UID}/volumes/kubernetes.io~nfs/shared",  # another plugin
        f"/var/lib/kubelet/pods/{UID}/volumes/kubernetes.io~csi/{PV}/vol_data.json",  # not the mount dir
    ],
)
def test_runc_enoent_elsewhere_is_not_the_stale_csi_bind(kb: KnowledgeBase, gen: str, src: str) -> None:
    r = kb.classify(WRAPPERS["containerd-1.6+"].format(runc(gen, src, "/data", ERRNOS["ENOENT"])))
    assert r.signature == GENERIC_ENOENT[gen]
    assert "runc-procfd-enoent-stale-fuse-csi-bind" not in dict(r.candidates)


@pytest.mark.parametrize("gen", GENERATIONS)
def test_other_errno_on_csi_mount_is_not_the_stale_csi_bind(kb: KnowledgeBase, gen: str) -> None:
    r = kb.classify(runc(gen, csi("/data/kubernetes/kubelet"), "/data", ERRNOS["EPERM"]))
    assert r.signature in {"runc-1.0-procfd-generic", "runc-1.1-via-procfd-generic", "runc-1.2-dstfd-format"}
    assert r.facts["errno"] == "EPERM"


@pytest.mark.parametrize("gen", GENERATIONS)
def test_enotdir_is_file_vs_directory_in_every_generation(kb: KnowledgeBase, gen: str) -> None:
    src = f"/data/kubernetes/kubelet/pods/{UID}/volumes/kubernetes.io~configmap/nginx-conf"
    r = kb.classify(WRAPPERS["cri-o"].format(runc(gen, src, "/etc/nginx/nginx.conf", ERRNOS["ENOTDIR"])))
    assert r.signature == "runc-not-a-directory-file-vs-dir"
    assert r.facts["volume_plugin"] == "kubernetes.io~configmap"
    assert r.facts["volume"] == "nginx-conf"
    assert r.facts["container_manager"] == "cri-o"


def test_crun_enoent_on_csi_mount(kb: KnowledgeBase) -> None:
    msg = (
        f"container create failed: mount `{csi('/opt/k8s/kubelet')}` to "
        "`/var/lib/containers/storage/overlay/9c1/merged/data`: No such file or directory"
    )
    r = kb.classify(msg)
    assert r.signature == "runc-procfd-enoent-stale-fuse-csi-bind"
    assert r.facts["runtime"] == "crun"
    assert r.facts["kubelet_root"] == "/opt/k8s/kubelet"


def test_crun_other_errors(kb: KnowledgeBase) -> None:
    r = kb.classify("Error: OCI runtime error: crun: mount `/srv/x` to `/data`: Permission denied")
    assert r.signature == "crun-mount-errors"
    assert r.facts["errno"] == "EACCES"


def test_containerd_generations_are_told_apart(kb: KnowledgeBase) -> None:
    err = runc("runc-1.1", "/srv/a", "/a", ERRNOS["EPERM"])
    gens = {}
    for name, wrapper in WRAPPERS.items():
        gens[name] = kb.classify(wrapper.format(err)).facts.get("container_manager_generation")
    assert gens["containerd-1.5"] == "containerd-1.5"
    assert gens["containerd-1.6+"] == "containerd-1.6+"
    assert (
        kb.classify("failed to create containerd task: OCI runtime create failed: " + err).facts[
            "container_manager_generation"
        ]
        == "containerd-1.4"
    )


@pytest.mark.parametrize("root", ROOTS)
def test_containerd_stat_enotconn(kb: KnowledgeBase, root: str) -> None:
    p = f"{root}/pods/{UID}/volumes/kubernetes.io~csi/pvc-s3-bucket/mount"
    msg = (
        f'Error: failed to generate container "8d1c" spec: failed to generate spec: failed to stat "{p}": '
        f"stat {p}: transport endpoint is not connected"
    )
    r = kb.classify(msg, reason="CreateContainerError")
    assert r.signature == "containerd-spec-stat-enotconn"
    assert (r.facts["kubelet_root"], r.facts["volume"], r.facts["errno"]) == (
        root,
        "pvc-s3-bucket",
        "ENOTCONN",
    )


def test_docker_mkdir_file_exists_other_plugin(kb: KnowledgeBase) -> None:
    p = f"/data/kubernetes/kubelet/pods/{UID}/volumes/kubernetes.io~glusterfs/gv0"
    r = kb.classify(
        f"Error response from daemon: error while creating mount source path '{p}': mkdir {p}: file exists"
    )
    assert r.signature == "docker-mount-source-mkdir-file-exists"
    assert r.facts["volume_plugin"] == "kubernetes.io~glusterfs"


def test_old_runc_with_nested_quoting(kb: KnowledgeBase) -> None:
    msg = (
        'container_linux.go:247: starting container process caused \\"process_linux.go:359: container init '
        "caused "
        '\\\\\\"rootfs_linux.go:54: mounting \\\\\\\\\\\\\\"/mnt/k/kubelet/pods/'
        + UID
        + "/volumes/kubernetes.io~secret/tok"
        '\\\\\\\\\\\\\\" to rootfs \\\\\\\\\\\\\\"/var/lib/docker/overlay2/ab/merged\\\\\\\\\\\\\\" at '
        '\\\\\\\\\\\\\\"/var/run/secrets'
        '\\\\\\\\\\\\\\" caused \\\\\\\\\\\\\\"no such file or directory\\\\\\\\\\\\\\"\\\\\\"\\"'
    )
    r = kb.classify(msg)
    assert r.signature == "runc-pre-rc95-mount-format"
    assert r.facts["runtime_generation"] == "runc-1.0-rc"
    assert r.facts["kubelet_root"] == "/mnt/k/kubelet"


# ------------------------------------------------------------------- kubelet volume wording
def test_failedmount_configmap_vs_container_config(kb: KnowledgeBase) -> None:
    mount = kb.classify(
        'MountVolume.SetUp failed for volume "app-cfg" : configmap "app-settings-v2" not found'
    )
    assert mount.signature == "kubelet-setup-configmap-secret-not-found"
    assert mount.category == "volume-mount"
    assert (mount.facts["volume"], mount.facts["missing_kind"], mount.facts["missing_name"]) == (
        "app-cfg",
        "configmap",
        "app-settings-v2",
    )
    env = kb.classify('Error: secret "db-creds" not found')
    assert env.signature == "config-configmap-secret-missing"
    assert env.category == "container-config"
    # a bare message: the reason decides
    bare = 'configmap "app-settings-v2" not found'
    assert kb.signature_of(bare, reason="FailedMount") == "kubelet-setup-configmap-secret-not-found"
    assert kb.signature_of(bare, reason="CreateContainerConfigError") == "config-configmap-secret-missing"


def test_old_kubelet_mount_wording(kb: KnowledgeBase) -> None:
    msg = (
        f'MountVolume.SetUp failed for volume "kubernetes.io/configmap/{UID}-config" (spec.Name: "config") '
        f'pod "{UID}" (UID: "{UID}") with: configmap "nginx-conf" not found'
    )
    assert kb.signature_of(msg) == "kubelet-setup-configmap-secret-not-found"


@pytest.mark.parametrize(
    "msg",
    [
        'Unable to mount volumes for pod "web-0_shop('
        + UID
        + ')": timeout expired waiting for volumes to attach or '
        'mount for pod "shop"/"web-0". list of unmounted volumes=[www]. list of unattached volumes=[www tok]',
        "Unable to attach or mount volumes: unmounted volumes=[www], unattached volumes=[www "
        "kube-api-access-x1]: "
        "timed out waiting for the condition",
        "Unable to attach or mount volumes: unmounted volumes=[www], unattached volumes=[], failed to "
        "process "
        "volumes=[]: context deadline exceeded",
    ],
)
def test_failedmount_timeout_generations(kb: KnowledgeBase, msg: str) -> None:
    r = kb.classify(msg, reason="FailedMount")
    assert r.signature == "kubelet-failedmount-timeout-aggregate"
    assert r.facts["unmounted_volumes"] == "www"


def test_csi_driver_not_registered_any_driver(kb: KnowledgeBase) -> None:
    r = kb.classify(
        'MountVolume.MountDevice failed for volume "pvc-1" : kubernetes.io/csi: attacher.MountDevice failed '
        "to "
        "create newCsiDriverClient: driver name cephfs.csi.ceph.com not found in the list of registered CSI "
        "drivers"
    )
    assert r.signature == "csi-driver-not-registered"
    assert r.facts["csi_driver"] == "cephfs.csi.ceph.com"


def test_kubelet_enoent_on_csi_path_is_not_a_runtime_error(kb: KnowledgeBase) -> None:
    msg = (
        f'MountVolume.SetUp failed for volume "{PV}" : rpc error: code = Internal desc = stat '
        f"{csi('/var/lib/kubelet')}: no such file or directory"
    )
    r = kb.classify(msg, reason="FailedMount")
    assert r.signature == "kubelet-mount-failed-generic"
    assert r.category == "volume-mount"


def test_grpc_deadline_is_not_pod_deadline(kb: KnowledgeBase) -> None:
    r = kb.classify(
        'AttachVolume.Attach failed for volume "pvc-2" : rpc error: code = DeadlineExceeded desc = context '
        "deadline exceeded"
    )
    assert r.signature != "deadline-exceeded"
    assert r.category == "volume-mount"


def test_csi_staging_path_facts(kb: KnowledgeBase) -> None:
    staging = "/data/kubernetes/kubelet/plugins/kubernetes.io/csi/cephfs.csi.ceph.com/4f2a9d/globalmount"
    r = kb.classify(
        f'MountVolume.MountDevice failed for volume "{PV}" : rpc error: code = Internal desc = mount '
        f"{staging}: fuse: mountpoint is not empty"
    )
    assert r.signature == "fuse-mountpoint-not-empty"
    assert r.facts["kubelet_root"] == "/data/kubernetes/kubelet"
    assert r.facts["csi_driver"] == "cephfs.csi.ceph.com"
    assert r.facts["staging_path"] == staging


def test_next_checks_use_the_message_kubelet_root(kb: KnowledgeBase) -> None:
    r = kb.classify(runc("runc-1.1", csi("/data/kubernetes/kubelet"), "/data", ERRNOS["ENOENT"]))
    findmnt = [c for c in r.next_checks_node if c.startswith("findmnt -T")]
    assert findmnt and findmnt[0].startswith(
        f"findmnt -T /data/kubernetes/kubelet/pods/{UID}/volumes/kubernetes.io~csi/{PV}/mount"
    )


# ------------------------------------------------------------------- images
@pytest.mark.parametrize(
    ("image", "full", "registry"),
    [
        ("quay.io/acme/billing:v3.2.0", "quay.io/acme/billing:v3.2.0", "quay.io"),
        (
            "registry.internal:5000/team/api:pr-12",
            "registry.internal:5000/team/api:pr-12",
            "registry.internal:5000",
        ),
        ("redis:9.9", "docker.io/library/redis:9.9", "docker.io"),
    ],
)
def test_containerd_image_not_found(kb: KnowledgeBase, image: str, full: str, registry: str) -> None:
    msg = (
        f'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to pull and unpack image '
        f'"{full}": '
        f'failed to resolve reference "{full}": {full}: not found'
    )
    r = kb.classify(msg, reason="ErrImagePull")
    assert r.signature == "image-not-found"
    assert (r.facts["image"], r.facts["registry"]) == (full, registry)


def test_docker_image_not_found(kb: KnowledgeBase) -> None:
    msg = (
        'Failed to pull image "ghcr.io/x/y:9": rpc error: code = Unknown desc = Error response from daemon: '
        "manifest for ghcr.io/x/y:9 not found: manifest unknown: manifest unknown"
    )
    assert kb.classify(msg).signature == "image-not-found"


@pytest.mark.parametrize(
    "msg",
    [
        'Failed to pull image "harbor.corp.example/prod/app:1": rpc error: code = Unknown desc = failed to '
        "pull and unpack image "
        '"harbor.corp.example/prod/app:1": failed to resolve reference "harbor.corp.example/prod/app:1": '
        "pulling from host "
        "harbor.corp.example failed with status code [manifests 1]: 403 Forbidden",
        'Failed to pull image "private/tool:2": rpc error: code = Unknown desc = Error response from '
        "daemon: pull access "
        "denied for private/tool, repository does not exist or may require 'docker login': denied: "
        "requested access to the resource is denied",
    ],
)
def test_image_auth_failed(kb: KnowledgeBase, msg: str) -> None:
    r = kb.classify(msg)
    assert r.signature == "image-auth-failed"
    assert r.facts["registry"] in {"harbor.corp.example", "docker.io"}


def test_image_registry_unreachable(kb: KnowledgeBase) -> None:
    msg = (
        'Failed to pull image "reg.lan/a/b:1": rpc error: code = Unknown desc = failed to pull and unpack '
        'image "reg.lan/a/b:1": '
        'failed to resolve reference "reg.lan/a/b:1": failed to do request: Head '
        '"https://reg.lan/v2/a/b/manifests/1": '
        "dial tcp: lookup reg.lan on 10.96.0.10:53: no such host"
    )
    r = kb.classify(msg)
    assert r.signature == "image-registry-unreachable"
    assert r.facts["registry"] == "reg.lan"


def test_x509_outside_image_pulls_is_not_an_image_error(kb: KnowledgeBase) -> None:
    msg = (
        'Internal error occurred: failed calling webhook "v.example.com": Post '
        '"https://svc.ns.svc:443/validate": x509: certificate signed by unknown authority'
    )
    assert kb.signature_of(msg) != "image-x509"


def test_calico_unauthorized_is_not_image_auth(kb: KnowledgeBase) -> None:
    msg = (
        "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for "
        'sandbox "ab12": plugin type="calico" failed (add): connection is unauthorized: Unauthorized'
    )
    assert kb.signature_of(msg) == "sandbox-cni-calico"


# ------------------------------------------------------------------- scheduler
def test_scheduler_reasons_with_counts(kb: KnowledgeBase) -> None:
    msg = (
        "0/9 nodes are available: 3 Insufficient cpu, 2 Insufficient memory, 4 node(s) had untolerated taint "
        "{dedicated: gpu}. preemption: 0/9 nodes are available: 9 No preemption victims found for incoming "
        "pod."
    )
    r = kb.classify(msg, reason="FailedScheduling")
    assert r.signature == "scheduling-insufficient-resources"
    assert r.category == "unschedulable"
    assert r.facts["scheduler_reasons"] == {
        "Insufficient cpu": 3,
        "Insufficient memory": 2,
        "node(s) had untolerated taint {dedicated: gpu}": 4,
    }
    assert (r.facts["nodes_available"], r.facts["nodes_total"]) == (0, 9)
    assert "scheduling-taints" in dict(r.candidates)


def test_scheduler_taint_with_comma_inside(kb: KnowledgeBase) -> None:
    r = kb.classify(
        "0/3 nodes are available: 3 node(s) had taint {node.kubernetes.io/not-ready: }, that the pod didn't "
        "tolerate."
    )
    assert r.signature == "scheduling-taints"
    assert r.facts["scheduler_reasons"] == {
        "node(s) had taint {node.kubernetes.io/not-ready: }, that the pod didn't tolerate": 3
    }


def test_scheduler_other_predicates(kb: KnowledgeBase) -> None:
    r = kb.classify("0/4 nodes are available: 4 node(s) had volume node affinity conflict.")
    assert r.signature == "scheduling-volume-node-affinity-conflict"
    assert r.facts["scheduler_reasons"] == {"node(s) had volume node affinity conflict": 4}


# ------------------------------------------------------------------- kernel OOM
def test_kernel_oom_modern_global(kb: KnowledgeBase) -> None:
    r = kb.classify(
        "[812345.001122] Out of memory: Killed process 31337 (ceph-fuse) total-vm:2097152kB, "
        "anon-rss:1048576kB, "
        "file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:4096kB oom_score_adj:-997"
    )
    assert r.signature == "kernel-oom-modern"
    assert r.category == "node-kernel"
    assert (r.facts["oom_pid"], r.facts["oom_comm"], r.facts["oom_scope"]) == (31337, "ceph-fuse", "node")


def test_kernel_oom_kill_line_systemd_cgroup(kb: KnowledgeBase) -> None:
    pod = "kubepods-burstable-pod1234abcd_5678_90ef_1234_567890abcdef.slice"
    msg = (
        "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=cri-containerd-ab.scope,mems_allowed=0,"
        f"oom_memcg=/kubepods.slice/kubepods-burstable.slice/{pod},task_memcg=/kubepods.slice/kubepods-bursta"
        "ble.slice/"
        f"{pod}/cri-containerd-ab.scope,task=juicefs,pid=998,uid=0"
    )
    r = kb.classify(msg)
    assert r.signature == "kernel-oom-modern"
    assert r.facts["pod_uid"] == "1234abcd-5678-90ef-1234-567890abcdef"
    assert (r.facts["oom_comm"], r.facts["oom_pid"], r.facts["oom_scope"]) == ("juicefs", 998, "cgroup")


def test_kernel_oom_legacy(kb: KnowledgeBase) -> None:
    r = kb.classify("[77.1] Out of memory: Kill process 4711 (s3fs) score 901 or sacrifice child")
    assert r.signature == "kernel-oom-global-legacy"
    assert (r.facts["oom_pid"], r.facts["oom_comm"]) == (4711, "s3fs")


# ------------------------------------------------------------------- reasons and workload
def test_reason_hint_boosts_and_penalises(kb: KnowledgeBase) -> None:
    msg = f"stat {csi('/var/lib/kubelet')}: transport endpoint is not connected"
    with_reason = kb.classify(msg, reason="CreateContainerError")
    without = kb.classify(msg)
    assert with_reason.signature == without.signature == "containerd-spec-stat-enotconn"
    assert with_reason.score > without.score


def test_unknown_message_falls_back_to_reason_category(kb: KnowledgeBase) -> None:
    r = kb.classify("something nobody has seen before", reason="FailedMount")
    assert (r.signature, r.category, r.candidates) == (None, "volume-mount", ())
    assert kb.classify("something else").category == "unknown"


@pytest.mark.parametrize(
    ("msg", "expected"),
    [
        ("Back-off restarting failed container api in pod api-5d9_shop(" + UID + ")", "crashloop-backoff"),
        ("Last State: Terminated\n  Reason: OOMKilled\n  Exit Code: 137", "oomkilled-137"),
        ("Last State: Terminated\n  Reason: Error\n  Exit Code: 137", "exit-137-not-oom"),
        (
            'Readiness probe failed: Get "http://10.2.3.4:8080/ready": context deadline exceeded',
            "probe-failures",
        ),
        ("Error: couldn't find key DB_URL in Secret shop/db", "config-key-missing"),
        ("web-0   0/1   Init:CrashLoopBackOff   4   3m", "init-container-failures"),
        (
            "PLEG is not healthy: pleg was last seen active 5m1.2s ago; threshold is 3m0s",
            "node-not-ready-pleg",
        ),
        ("Node worker-7 status is now: NodeHasDiskPressure", "node-pressure-condition"),
        ("Attempting to reclaim nodefs", "node-pressure-condition"),
        (
            "The node was low on resource: memory. Threshold quantity: 100Mi, available: 90Mi. ",
            "evicted-node-pressure",
        ),
    ],
)
def test_workload_wordings(kb: KnowledgeBase, msg: str, expected: str) -> None:
    assert kb.signature_of(msg) == expected


def test_crashloop_facts(kb: KnowledgeBase) -> None:
    r = kb.classify("Back-off restarting failed container api in pod api-5d9_shop(" + UID + ")")
    # kubelet's format.Pod is "<name>_<namespace>(<uid>)": the name and namespace are two facts (issue 13)
    assert (r.facts["container"], r.facts["pod"], r.facts["namespace"], r.facts["pod_uid"]) == (
        "api", "api-5d9", "shop", UID,
    )


def test_errno_is_the_last_one_even_far_from_the_end(kb: KnowledgeBase) -> None:
    text = "open x: permission denied; retry: stat y: no such file or directory" + " (context)" * 60
    assert EXTRACTORS["errno"](text, text.lower())["errno"] == "ENOENT"
    short = "stat y: no such file or directory; then: operation not permitted"
    assert EXTRACTORS["errno"](short, short.lower())["errno"] == "EPERM"
