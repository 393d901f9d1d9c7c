"""``podsleuth diagnose pod NAME -n NS``: the watch's diagnosis, one-shot, for one pod.

The incident-like input comes from the detector's own rules applied to the pod and its events
now (so the one-shot and the watch agree on category, reason and message); when the rules see
nothing *now* (an eviction an hour old, a crash loop between restarts) the container states and
events themselves name the failure. Then the same chain runs: signature, API facts, node agent,
decision rules.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import click
import msgspec

from podsleuth.cli.options import chosen_lang, config_option, configured_locale, lang_option, output_option
from podsleuth.config import Settings, load_settings
from podsleuth.detect import Anomaly, Catalog, load_catalog
from podsleuth.detect.owner import resolve_owner
from podsleuth.detect.rules_event import EventEvidence, event_category, event_reason, event_record
from podsleuth.detect.rules_pod import evaluate_pod
from podsleuth.diagnose.diagnoser import Diagnoser
from podsleuth.diagnose.evidence import DiagnosisRequest
from podsleuth.diagnose.knowledge import KnowledgeBase
from podsleuth.diagnose.report import render_diagnosis
from podsleuth.errors import ApiNotFound, UsageError
from podsleuth.kube import KubeClient, connect
from podsleuth.locale import localize
from podsleuth.watch.objects import CoreEvent, Pod, event_from_core

SEVERITY_ORDER = {"critical": 0, "error": 1, "warning": 2}


class _Events(msgspec.Struct):
    items: list[CoreEvent] = msgspec.field(default_factory=list)


async def _read(client: KubeClient, namespace: str, name: str, now: datetime) -> tuple[Pod, EventEvidence]:
    try:
        body = await client.get(f"/api/v1/namespaces/{namespace}/pods/{name}")
    except ApiNotFound:
        raise UsageError(f"pod {namespace}/{name} not found") from None
    pod = msgspec.json.decode(body, type=Pod)
    evidence = EventEvidence(uid=pod.metadata.uid, touched=now)
    raw = await client.get(
        f"/api/v1/namespaces/{namespace}/events", {"fieldSelector": f"involvedObject.name={name}"}
    )
    events = [event_from_core(e) for e in msgspec.json.decode(raw, type=_Events).items]
    events = [e for e in events if e.regarding.uid in ("", pod.metadata.uid)]
    events.sort(key=lambda e: e.last_time or e.first_time or now)
    catalog = load_catalog()
    for e in events:
        reason = event_reason(e)
        evidence.add(event_record(e, reason), event_category(reason, catalog), now=now)
    return pod, evidence


def _direct(pod: Pod, evidence: EventEvidence, catalog: Catalog) -> list[Anomaly]:
    """The failure as the pod's own state and events name it, without the detector's timing."""
    st = pod.status
    out: list[Anomaly] = []
    if st.reason and (cat := catalog.pod_reasons.get(st.reason)):
        out.append(Anomaly(category=cat, reason=st.reason, message=st.message or st.reason))
    for cs in [*(st.init_container_statuses or []), *(st.container_statuses or [])]:
        waiting = cs.state.waiting if cs.state else None
        last = cs.last_state.terminated if cs.last_state else None
        if last is not None and last.reason == "OOMKilled":
            out.append(
                Anomaly(
                    category="oom-killed",
                    reason="OOMKilled",
                    container=cs.name,
                    message=last.message or f"container {cs.name} was OOM-killed (exit {last.exit_code})",
                )
            )
        if waiting is not None and waiting.reason and (cat := catalog.container_reasons.get(waiting.reason)):
            out.append(
                Anomaly(
                    category=cat,
                    reason=waiting.reason,
                    message=waiting.message or waiting.reason,
                    container=cs.name,
                )
            )
        elif waiting is not None and waiting.reason == "CrashLoopBackOff":
            out.append(
                Anomaly(
                    category="crash-loop",
                    reason="CrashLoopBackOff",
                    container=cs.name,
                    message=(last.message if last else None) or waiting.message or "back-off",
                )
            )
    for category, finding in evidence.findings.items():
        out.append(
            Anomaly(
                category=category, reason=finding.reason, message=finding.message, container=finding.container
            )
        )
    return out


def subject_of(
    pod: Pod, evidence: EventEvidence, settings: Settings, now: datetime
) -> DiagnosisRequest | None:
    catalog = load_catalog()
    created = pod.metadata.creation_timestamp or now
    found = evaluate_pod(
        pod, evidence, now=now, thresholds=settings.watch.thresholds, catalog=catalog, first_seen=created
    ).anomalies or _direct(pod, evidence, catalog)
    if not found:
        return None
    a = min(found, key=lambda x: SEVERITY_ORDER.get(catalog.severity(x.category, x.reason), 3))
    owner = resolve_owner(pod.metadata)
    kb = KnowledgeBase.default()
    return DiagnosisRequest(
        category=a.category,
        reason=a.reason,
        message=a.message,
        signature=kb.signature_of(a.message, a.reason),
        namespace=pod.metadata.namespace,
        pod=pod.metadata.name,
        node=pod.spec.node_name,
        container=a.container,
        owner_kind=owner.kind,
        owner_name=owner.name,
        events=tuple(evidence.recent),
        first_seen=created,
        last_seen=now,
    )


async def diagnose_pod(
    *, name: str, namespace: str, kubeconfig: str | None, context: str | None, settings: Settings
) -> dict[str, Any]:
    now = datetime.now(UTC)
    async with await connect(kubeconfig=kubeconfig, context=context, request_timeout=10.0) as client:
        pod, evidence = await _read(client, namespace, name, now)
        subject = subject_of(pod, evidence, settings, now)
        result: dict[str, Any] = {
            "namespace": namespace,
            "pod": name,
            "uid": pod.metadata.uid,
            "node": pod.spec.node_name,
            "phase": pod.status.phase,
        }
        if subject is None:
            return {**result, "category": None, "reason": None, "signature": None, "diagnosis": None}
        diagnosis = await Diagnoser(client=client, agents=settings.node_agents).diagnose(subject)
        return {
            **result,
            "category": subject.category,
            "reason": subject.reason,
            "signature": subject.signature,
            "container": subject.container,
            "diagnosis": diagnosis.to_dict(),
        }


@click.command("pod")
@click.argument("name")
@click.option("-n", "--namespace", default="default", show_default=True, help="The pod's namespace.")
@click.option(
    "--kubeconfig",
    type=click.Path(dir_okay=False),
    default=None,
    envvar="KUBECONFIG",
    help="Path to the kubeconfig (default: $KUBECONFIG, ~/.kube/config, then in-cluster config).",
)
@click.option("--context", default=None, help="kubeconfig context (default: the current one).")
@config_option
@output_option
@lang_option
def command(
    name: str,
    namespace: str,
    kubeconfig: str | None,
    context: str | None,
    config_path: str | None,
    output: str,
    lang: str | None,
) -> None:
    """Diagnose one pod now: its state and events, its volumes and node, its node agent.

    JSON keeps the diagnosis's ids and field names; with --lang (or alerts.locale, LANG) its
    texts are those of that language, as in ``incidents show -o json``."""
    settings = load_settings(config_path)
    language = chosen_lang(lang, configured_locale(settings))
    result = asyncio.run(
        diagnose_pod(
            name=name, namespace=namespace, kubeconfig=kubeconfig, context=context, settings=settings
        )
    )
    if output == "json":
        result = {**result, "diagnosis": localize(result["diagnosis"], language)}
        click.echo(json.dumps(result, ensure_ascii=False, default=str))
        return
    zh = language == "zh"
    if result["diagnosis"] is None:
        if zh:
            click.echo(f"Pod {namespace}/{name}（{result['phase']}，节点 {result['node']}）：未发现故障")
        else:
            click.echo(f"pod {namespace}/{name} ({result['phase']}, node {result['node']}): no failure found")
        return
    signature = result["signature"]
    if zh:
        title = (
            f"节点 {result['node']} 上的 Pod {namespace}/{name}（uid {result['uid']}）：{result['category']} "
            f"{result['reason']}" + (f"，特征 {signature}" if signature else "")
        )
    else:
        title = (
            f"pod {namespace}/{name} (uid {result['uid']}) on node {result['node']}: {result['category']} "
            f"{result['reason']}" + (f", signature {signature}" if signature else "")
        )
    click.echo(render_diagnosis(result["diagnosis"], title=title, lang=language), nl=False)
