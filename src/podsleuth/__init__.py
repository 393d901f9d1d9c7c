"""podsleuth: Kubernetes pod and node anomaly detection with root-cause diagnosis.

Pipeline (one package per stage, imports flow one way)::

    cli -> alert -> diagnose -> detect -> watch -> kube
    node (stands alone: the node agent)
"""

__version__ = "0.1.0"
