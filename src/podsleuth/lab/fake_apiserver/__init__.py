"""An in-process fake kube-apiserver speaking the real list/watch wire protocol."""

from podsleuth.lab.fake_apiserver.server import FakeApiServer, GoneForm, StreamingLists, write_kubeconfig
from podsleuth.lab.fake_apiserver.store import Kind

__all__ = ["FakeApiServer", "GoneForm", "Kind", "StreamingLists", "write_kubeconfig"]
