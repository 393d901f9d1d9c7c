"""The sinks of the configured receivers: receiver name -> target -> sink."""

from __future__ import annotations

import logging
from collections.abc import Callable

from podsleuth.alert.options import AlertOptions
from podsleuth.alert.render import Renderer
from podsleuth.alert.sinks import Sink
from podsleuth.alert.sinks.alertmanager import AlertmanagerSink
from podsleuth.alert.sinks.apprise_sink import AppriseSink
from podsleuth.alert.sinks.kube_events import KubeEventsSink, PostFn
from podsleuth.alert.sinks.webhook import WebhookSink
from podsleuth.config import AlertSettings

log = logging.getLogger("podsleuth.alert")

Clock = Callable[[], float]


def build_sinks(
    settings: AlertSettings, options: AlertOptions, *, clock: Clock, kube_post: PostFn | None
) -> dict[str, dict[str, Sink]]:
    """receiver name -> target -> sink; each target is retried independently in the outbox."""
    renderer = Renderer(
        locale=options.locale,
        template_dir=options.template_dir,
        max_detail=options.max_detail,
        evidence_lines=options.evidence_lines,
        external_url=options.external_url,
    )
    out: dict[str, dict[str, Sink]] = {}
    for r in settings.receivers:
        sinks: dict[str, Sink] = {}
        if r.webhook is not None:
            sinks["webhook"] = WebhookSink(r.webhook)
        if r.alertmanager is not None:
            sinks["alertmanager"] = AlertmanagerSink(
                r.alertmanager, clock=clock, hold=options.hold, per_category=options.alertmanager_per_category
            )
        for n, url in enumerate(r.apprise or []):
            sinks[f"apprise:{n}"] = AppriseSink(
                url, renderer=renderer, target=f"apprise:{n}", timeout=options.apprise_timeout
            )
        if r.kubernetes_events is not None:
            if kube_post is None:
                log.warning("receiver %s: kubernetes_events needs an API client; events disabled", r.name)
            else:
                sinks["kubernetes_events"] = KubeEventsSink(post=kube_post, clock=clock)
        out[r.name] = sinks
    return out
