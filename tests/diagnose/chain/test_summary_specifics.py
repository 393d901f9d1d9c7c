"""Summaries carry the situation's specifics (issue 17: "right with the situation's specifics").

Messages are public reports:
- eviction: https://github.com/GoogleCloudPlatform/ml-testing-accelerators/pull/194 (two containers
  over their request, the bigger one listed second);
- lower-case scheduler reasons: https://github.com/ContainerSolutions/runbooks/issues/82;
- Calico's unauthorized ClusterInformation read: https://github.com/projectcalico/calico/issues/9368.
"""

from __future__ import annotations

from podsleuth.diagnose.diagnoser import DETAIL_MAX, error_detail
from podsleuth.diagnose.evidence import DiagnosisRequest
from podsleuth.diagnose.extractors.workload import eviction, quantity
from tests.diagnose.chain.conftest import NODE, Cluster, pod

EVICTED = (
    "The node was low on resource: ephemeral-storage. Container monitor was using 776Ki, which exceeds its "
    "request of 0. Container train was using 7499Mi, which exceeds its request of 0. "
)
CALICO = (
    "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "
    '"' + "3f" * 32 + '": plugin type="calico" failed (add): error getting ClusterInformation: connection is '
    "unauthorized: Unauthorized"
)


def _subject(category: str, reason: str, message: str) -> DiagnosisRequest:
    return DiagnosisRequest(
        category=category, reason=reason, message=message, namespace="shop", pod="web-1", node=NODE
    )


def test_quantities_compare_across_units() -> None:
    assert quantity("7499Mi") == 7499 * 2**20 and quantity("776Ki") == 776 * 1024
    assert quantity("250m") == 0.25 and quantity("1.5Gi") == 1.5 * 2**30 and quantity("lots") is None


def test_eviction_names_the_biggest_user_not_the_first_listed() -> None:
    f = eviction(EVICTED, EVICTED.lower())
    assert (f["evicted_container"], f["evicted_usage"], f["eviction_resource"]) == (
        "train",
        "7499Mi",
        "ephemeral-storage",
    )
    assert f["evicted_containers"] == ["monitor (776Ki)", "train (7499Mi)"]


def test_error_detail_is_the_innermost_error_without_ids_and_bounded() -> None:
    d = error_detail(CALICO)
    assert d.startswith('failed to setup network for sandbox: plugin type="calico"') and "3f3f" not in d
    assert d.endswith("Unauthorized")
    assert len(error_detail("x" * 100_000)) == DETAIL_MAX


async def test_chain_summaries_name_container_resource_and_cni_error(cluster: Cluster) -> None:
    cluster.put("pods", pod("web-1", phase="Failed", reason="Evicted", message=EVICTED))
    d = await cluster.diagnose(_subject("evicted", "Evicted", EVICTED))
    assert "ephemeral-storage" in d["summary"] and "train with 7499Mi" in d["summary"]
    d = await cluster.diagnose(_subject("sandbox", "FailedCreatePodSandBox", CALICO))
    assert d["root_cause"] == "cni-failure" and 'plugin type="calico"' in d["summary"]
    assert "Unauthorized" in d["summary"]
    msg = "0/1 nodes are available: 1 insufficient cpu, 1 insufficient memory."
    d = await cluster.diagnose(_subject("unschedulable", "FailedScheduling", msg))
    assert d["root_cause"] == "insufficient-resources" and "cpu, memory" in d["summary"]
