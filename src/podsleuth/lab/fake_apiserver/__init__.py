"""An in-process fake kube-apiserver speaking the real list/watch wire protocol."""

from podsleuth.lab.fake_apiserver.server import FakeApiServer, GoneForm, StreamingLists
from podsleuth.lab.fake_apiserver.store import Kind

__all__ = ["FakeApiServer", "GoneForm", "Kind", "StreamingLists"]
