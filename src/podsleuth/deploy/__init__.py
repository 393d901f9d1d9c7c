"""Install manifests for a real cluster: ``podsleuth manifests`` and ``deploy/podsleuth.yaml``.

Kept apart from the pipeline (nothing here talks to a cluster): ``render`` turns
``DeployOptions`` into plain objects, ``rbac``/``workloads``/``monitoring`` build them.
"""
