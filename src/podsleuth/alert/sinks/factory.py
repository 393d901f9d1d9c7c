"""The sinks of the configured receivers: receiver name -> target -> sink."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from podsleuth.alert.options import AlertOptions
from podsleuth.alert.sinks import Sink
from podsleuth.alert.sinks.alertmanager import AlertmanagerSink
from podsleuth.alert.sinks.kube_events import KubeEventsSink, PostFn
from podsleuth.alert.sinks.webhook import WebhookSink
from podsleuth.config import AlertSettings

if TYPE_CHECKING:
    from podsleuth.alert.render import Renderer

log = logging.getLogger("podsleuth.alert")

Clock = Callable[[], float]


def build_sinks(
    settings: AlertSettings, options: AlertOptions, *, clock: Clock, kube_post: PostFn | None
) -> dict[str, dict[str, Sink]]:
    """receiver name -> target -> sink; each target is retried independently in the outbox."""
    out: dict[str, dict[str, Sink]] = {}
    renderer: Renderer | None = None
    for r in settings.receivers:
        sinks: dict[str, Sink] = {}
        if r.webhook is not None:
            sinks["webhook"] = WebhookSink(r.webhook)
        if r.alertmanager is not None:
            sinks["alertmanager"] = AlertmanagerSink(
                r.alertmanager, clock=clock, hold=options.hold, per_category=options.alertmanager_per_category
            )
        for n, url in enumerate(r.apprise or []):
            renderer = renderer or _renderer(options)
            sinks[f"apprise:{n}"] = _apprise_sink(
                url, renderer=renderer, target=f"apprise:{n}", timeout=options.apprise_timeout
            )
        if r.kubernetes_events is not None:
            if kube_post is None:
                log.warning("receiver %s: kubernetes_events needs an API client; events disabled", r.name)
            else:
                sinks["kubernetes_events"] = KubeEventsSink(post=kube_post, clock=clock)
        out[r.name] = sinks
    return out


# Imported on first use: apprise with its plugins and the templates' jinja2 are ~20 MiB of RSS
# that a watcher without chat or email receivers does not carry.


def _renderer(options: AlertOptions) -> Renderer:
    from podsleuth.alert.render import Renderer

    return Renderer(
        locale=options.locale,
        template_dir=options.template_dir,
        max_detail=options.max_detail,
        evidence_lines=options.evidence_lines,
        external_url=options.external_url,
        victims_with_cause=options.victims_with_cause,
    )


def _apprise_sink(url: str, *, renderer: Renderer, target: str, timeout: float) -> Sink:
    from podsleuth.alert.sinks.apprise_sink import AppriseSink

    return AppriseSink(url, renderer=renderer, target=target, timeout=timeout)
