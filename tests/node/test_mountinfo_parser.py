"""mountinfo parsing against captured text: escapes, optional fields, super options, //deleted."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from podsleuth.errors import InputError
from podsleuth.node import layout, mountinfo

FIXTURES = Path(__file__).parent / "fixtures"
K = "/data/kubernetes/kubelet"
UID = "8c2f7e61-2b1d-4e3a-9f0c-5d6e7f8a9b0c"


@pytest.fixture
def entries() -> dict[int, mountinfo.MountEntry]:
    text = (FIXTURES / "mountinfo-founding.txt").read_text()
    return {e.mount_id: e for e in mountinfo.parse_mountinfo(text)}


def test_deleted_root_and_fuse_fields(entries: dict[int, mountinfo.MountEntry]) -> None:
    e = entries[1305]
    assert e.root_deleted and e.root == "/volumes/csi/csi-vol-1/data//deleted"
    assert e.source_display == "ceph-fuse[/volumes/csi/csi-vol-1/data//deleted]"
    assert e.is_fuse and e.fs_type == "fuse.ceph-fuse" and (e.major, e.minor) == (0, 48) and e.dev == 48
    assert e.optional_fields == ("shared:410", "master:300") and e.propagation == "shared,slave"
    assert e.option("allow_other") == "" and e.option("user_id") == "0" and e.option("fd") is None
    assert entries[136].root_deleted


def test_octal_escapes_are_decoded(entries: dict[int, mountinfo.MountEntry]) -> None:
    assert entries[1306].mount_point.endswith("/my cache\ttab\nnl\\bs")
    assert mountinfo.escape(entries[1306].mount_point).endswith(r"my\040cache\011tab\012nl\134bs")


def test_propagation_and_super_options(entries: dict[int, mountinfo.MountEntry]) -> None:
    assert entries[1307].propagation == "unbindable"
    assert entries[1306].propagation == "private"
    assert entries[27].propagation == "shared"
    assert entries[1308].option("addr") == "10.36.3.5" and entries[1308].source == "10.36.3.5:/export"


def test_paths_classified_by_kubelet_layout(entries: dict[int, mountinfo.MountEntry]) -> None:
    vp = layout.classify(entries[1305].mount_point, [K])
    assert vp is not None and (vp.role, vp.pod_uid, vp.volume, vp.plugin) == (
        "volume", UID, "pvc-0a1b2c3d", "kubernetes.io/csi")
    st_ = layout.classify(entries[1201].mount_point, [K])
    assert st_ is not None and st_.role == "staging" and st_.driver == "cephfs.csi.ceph.com"
    sub = layout.classify(entries[1307].mount_point, ["/var/lib/kubelet", K])
    assert sub is not None and (sub.role, sub.volume, sub.container) == ("subpath", "config", "app")
    assert layout.classify("/mnt/nfs", [K]) is None
    old = layout.classify(f"{K}/plugins/kubernetes.io/csi/pv/pvc-9/globalmount", [K])
    assert old is not None and old.role == "staging" and old.volume == "pvc-9"


def test_staging_paths_for_both_layouts() -> None:
    new, old = layout.staging_paths(K, "cephfs.csi.ceph.com", "handle-1", "pvc-1")
    assert new.endswith("/cephfs.csi.ceph.com/" + __import__("hashlib").sha256(b"handle-1").hexdigest()
                        + "/globalmount")
    assert old == f"{K}/plugins/kubernetes.io/csi/pv/pvc-1/globalmount"


def test_malformed_lines_skipped_or_rejected() -> None:
    text = "garbage line\n27 1 254:0 / / rw - ext4 /dev/vda rw\n"
    assert [e.mount_id for e in mountinfo.parse_mountinfo(text)] == [27]
    with pytest.raises(InputError):
        mountinfo.parse_mountinfo(text, strict=True)


@given(st.text(alphabet=st.sampled_from("ab /\t\n\\-:é0"), min_size=1, max_size=30))
def test_escape_roundtrip(name: str) -> None:
    path = "/k/" + name
    line = f"1 2 0:1 / {mountinfo.escape(path)} rw - tmpfs tmpfs rw"
    assert mountinfo.parse_line(line).mount_point == path
