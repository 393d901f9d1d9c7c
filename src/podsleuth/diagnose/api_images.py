"""Evidence around an image pull that the registry refused ambiguously.

containerd's ``pull access denied, repository does not exist or may require authorization:
server message: insufficient_scope: authorization failed`` (Docker: ``... may require 'docker
login'``) is ambiguous by design: registries answer an anonymous or under-privileged request for
a private repository exactly as for one that does not exist, so as not to leak which private
names exist. The text cannot decide; the cluster around it can:

- the pull secrets the pod carries (``spec.imagePullSecrets``, names only -- Secrets are never
  read) and those of its ServiceAccount (the admission plugin copies them into the pod only at
  creation: a secret added to the ServiceAccount later is not in the pod);
- which registry it is: every repository of Docker Hub's official ``library/`` namespace,
  registry.k8s.io and mcr.microsoft.com is public, so a denial there means the name does not
  exist; quay.io, ghcr.io, gcr.io and user repositories on Docker Hub hold both public and private
  ones (only an anonymous pull from outside can tell); anything else is most likely private;
- other pods in the namespace running the same repository (their container status has an
  ``imageID``, i.e. a node did pull it): the repository exists, and if they carry pull secrets
  this pod lacks, the missing credentials are the cause.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from podsleuth.diagnose import api_objects as o
from podsleuth.diagnose.evidence import Case
from podsleuth.diagnose.extractors import registry_of
from podsleuth.diagnose.phrases import Phrase, phrase
from podsleuth.watch.objects import ObjectMeta

if TYPE_CHECKING:
    from podsleuth.diagnose.api_link import Api

AMBIGUOUS = (
    "repository does not exist or may require authorization",
    "repository does not exist or may require 'docker login'",
    "insufficient_scope",
    "requested access to the resource is denied",
)
ALL_PUBLIC = frozenset({"registry.k8s.io", "k8s.gcr.io", "mcr.microsoft.com"})
"""Registries that serve public images only: a denial means the repository does not exist."""
MIXED = frozenset({"docker.io", "quay.io", "ghcr.io", "gcr.io", "public.ecr.aws", "registry.gitlab.com"})
"""Public hosts with private repositories too: cannot be told apart without a network probe."""
MAX_PODS = "500"


class _Status(o._Wire):
    name: str = ""
    image: str = ""
    image_id: str = msgspec.field(default="", name="imageID")


class _Spec(o._Wire):
    containers: list[o.ContainerSpec] = msgspec.field(default_factory=list)
    init_containers: list[o.ContainerSpec] | None = None
    image_pull_secrets: list[o.LocalRef] | None = None


class _PodStatus(o._Wire):
    container_statuses: list[_Status] | None = None
    init_container_statuses: list[_Status] | None = None


class _Pod(o._Wire):
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    spec: _Spec = msgspec.field(default_factory=_Spec)
    status: _PodStatus = msgspec.field(default_factory=_PodStatus)


class _PodList(o._Wire):
    items: list[_Pod] = msgspec.field(default_factory=list)


class _ServiceAccount(o._Wire):
    image_pull_secrets: list[o.LocalRef] | None = None


def split_image(ref: str) -> tuple[str, str, str]:
    """``nginx:1.25`` -> ``("docker.io", "library/nginx", "1.25")``; digests kept as the tag."""
    registry = registry_of(ref) or "docker.io"
    rest = ref[len(registry) + 1 :] if ref.startswith(registry + "/") else ref
    name, at, digest = rest.partition("@")
    head, colon, tag = name.rpartition(":")
    if colon and "/" not in tag:
        name = head
    else:
        tag = ""
    if registry == "docker.io" and "/" not in name:
        name = "library/" + name
    return registry, name, digest if at else (tag or "latest")


def registry_kind(registry: str, repository: str) -> str:
    if registry in ALL_PUBLIC or (registry == "docker.io" and repository.startswith("library/")):
        return "all-public"
    return "mixed" if registry in MIXED else "private"


def _denied(case: Case) -> bool:
    texts = [case.subject.message, *(m for _, m in case.facts.get("event_messages") or [])]
    return any(a in str(t).lower() for t in texts for a in AMBIGUOUS)


async def collect(api: Api, case: Case, pod: o.PodFull) -> None:
    if case.facts.get("category") != "image-pull" or not _denied(case):
        return
    ref = case.facts.get("image")
    if not isinstance(ref, str) or not ref:
        return
    registry, repository, tag = split_image(ref)
    kind = registry_kind(registry, repository)
    ns = pod.metadata.namespace
    mine = sorted(r.name for r in pod.spec.image_pull_secrets or [])
    sa_name = pod.spec.service_account_name or "default"
    sa_path = f"/api/v1/namespaces/{ns}/serviceaccounts/{sa_name}"
    sa = await api.get(
        sa_path, _ServiceAccount, what=phrase("object.service-account", namespace=ns, name=sa_name)
    )
    sa_secrets = sorted(r.name for r in (sa.image_pull_secrets or [])) if sa else None
    if sa is None and sa_path in api.not_found:
        sa_secrets = []  # no such ServiceAccount: it contributes no secrets
    f: dict[str, Any] = {
        "image_denied_ambiguous": True,
        "image_registry": registry,
        "image_repository": repository,
        "image_tag": tag,
        "registry_kind": kind,
        "registry_words": _KIND_WORDS[kind],
        "service_account": sa_name,
        "pull_secrets_pod": mine,
        "pull_secrets_sa": sa_secrets,
        "pull_secrets_none": not mine and not sa_secrets,
        "sa_secrets_not_in_pod": sorted(set(sa_secrets or []) - set(mine)),
    }
    none = phrase("image.secrets-none")
    sa_words = phrase("image.secrets-unreadable") if sa_secrets is None else sa_secrets or none
    case.add(
        "api:image-pull",
        phrase(
            "image.pull-secrets",
            image=f"{registry}/{repository}:{tag}",
            registry=_kind_phrase(kind),
            pod_secrets=mine or none,
            account=sa_name,
            account_secrets=sa_words,
        ),
        {k: v for k, v in f.items() if v is not None},
        **f,
    )
    await _peers(api, case, pod, registry, repository, tag, set(mine))


def _kind_phrase(kind: str) -> Phrase:
    if kind == "all-public":
        return phrase("image.registry-all-public")
    return phrase("image.registry-mixed") if kind == "mixed" else phrase("image.registry-private")


_KIND_WORDS = {
    "all-public": "a registry/namespace of public images only: a denial means the repository does not exist",
    "mixed": "a public registry that also hosts private repositories",
    "private": "not a known public registry: most likely private",
}


async def _peers(
    api: Api, case: Case, pod: o.PodFull, registry: str, repository: str, tag: str, mine: set[str]
) -> None:
    """Other pods of the namespace whose container of the same repository was pulled (imageID)."""
    ns = pod.metadata.namespace
    lst = await api.get(
        f"/api/v1/namespaces/{ns}/pods",
        _PodList,
        what=phrase("object.namespace-pods", namespace=ns),
        params={"limit": MAX_PODS},
    )
    if lst is None:
        return
    pulled: list[str] = []
    same_tag = False
    secrets: set[str] = set()
    for p in lst.items:
        if p.metadata.uid == pod.metadata.uid:
            continue
        for st in [*(p.status.init_container_statuses or []), *(p.status.container_statuses or [])]:
            specs = [*(p.spec.init_containers or []), *p.spec.containers]
            image = next((c.image for c in specs if c.name == st.name), st.image)
            reg, repo, t = split_image(image)
            if (reg, repo) != (registry, repository) or not st.image_id:
                continue
            pulled.append(f"{ns}/{p.metadata.name}")
            same_tag = same_tag or t == tag
            secrets.update(r.name for r in p.spec.image_pull_secrets or [])
            break
    if not pulled:
        case.add(
            "api:image-peers",
            phrase("image.no-peers", namespace=ns, image=f"{registry}/{repository}"),
            {"repository": f"{registry}/{repository}"},
            image_peers_pulled=[],
        )
        return
    lacking = sorted(secrets - mine)
    image, shown = f"{registry}/{repository}", pulled[:5]
    lacks = phrase("image.peers-lacking", secrets=lacking) if lacking else ""
    case.add(
        "api:image-peers",
        phrase(
            "image.peers-same-tag", count=len(pulled), namespace=ns, image=image, pods=shown, lacking=lacks
        )
        if same_tag
        else phrase(
            "image.peers-other-tag", count=len(pulled), namespace=ns, image=image, pods=shown, lacking=lacks
        ),
        {"pods": pulled[:20], "secrets": sorted(secrets), "same_tag": same_tag},
        image_peers_pulled=pulled[:20],
        image_peer_same_tag=same_tag,
        image_peer_secrets_lacking=lacking,
    )
