"""Transport and auth: the only layer that talks HTTP to the API server.

``connect()`` loads credentials with our own kubeconfig / in-cluster loader (``auth``) and returns a
``KubeClient`` doing plain aiohttp requests; its errors are the ``podsleuth.errors`` ApiError
tree, never aiohttp's.
"""

from podsleuth.kube.client import KubeClient, OversizeLine, StreamTimeout, connect

__all__ = ["KubeClient", "OversizeLine", "StreamTimeout", "connect"]
