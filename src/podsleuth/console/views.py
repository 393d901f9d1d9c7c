"""The console's pages: incident list, incident, node, silences.

Every handler reads the store through ``podsleuth.store.queries``; the only writes are silences
(create, expire), which need the write token and the CSRF token (``podsleuth.console.app``).
"""

from __future__ import annotations

import uuid
from importlib.resources import files
from pathlib import Path
from typing import Any

from aiohttp import web

from podsleuth.console.api import SilenceRejected, validate_silence, waiting_for
from podsleuth.console.app import CSRF_COOKIE, SETTINGS, render, request_lang
from podsleuth.console.present import localized, source_kind
from podsleuth.store.base import Silence
from podsleuth.store.queries import STATES, IncidentFilter, find_incident, list_incidents, story

STATIC_DIR = Path(str(files("podsleuth") / "data" / "console" / "static"))
FILTER_KEYS = ("state", "namespace", "category", "severity", "cluster", "q", "node")


def filter_from_query(query: Any) -> IncidentFilter:
    state = query.get("state", "open")
    namespace = query.get("namespace", "").strip()
    return IncidentFilter(
        state=state if state in STATES else "open",
        namespaces=(namespace,) if namespace else (),
        category=query.get("category", "").strip(),
        severity=query.get("severity", "").strip(),
        cluster=query.get("cluster", "").strip(),
        node=query.get("node", "").strip(),
        text=query.get("q", "").strip()[:200],
    )


def _int(value: str | None, default: int) -> int:
    try:
        return max(0, int(value)) if value is not None else default
    except ValueError:
        return default


async def incident_list(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    wanted = filter_from_query(request.query)
    offset = _int(request.query.get("offset"), 0)
    page = await list_incidents(settings.store, wanted, limit=settings.page_size, offset=offset)
    params = {k: request.query[k] for k in FILTER_KEYS if request.query.get(k)}
    template = "rows.html.j2" if request.query.get("fragment") == "rows" else "list.html.j2"
    return render(
        request,
        template,
        page=page,
        rows=[r._replace(data=localized(r.data, request_lang(request))) for r in page.incidents],
        filters=params,
        offset=offset,
        page_size=settings.page_size,
        categories=sorted(page.by_category),
    )


async def incident_page(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    record = await find_incident(settings.store, request.match_info["incident_id"])
    if record is None:
        return render(request, "missing.html.j2", status=404)
    told = await story(settings.store, record, now=settings.clock())
    incident = localized(record.data, request_lang(request))
    evidence = (incident.get("diagnosis") or {}).get("evidence") or []
    return render(
        request,
        "incident.html.j2",
        story=told,
        incident=incident,
        evidence=[dict(item, kind=source_kind(item.get("source"))) for item in evidence],
        external_url=settings.external_url,
    )


async def node_page(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    node = request.match_info["node"]
    page = await list_incidents(settings.store, IncidentFilter(state="all", node=node), limit=500)
    lang = request_lang(request)
    findings = []
    for record in page.incidents:
        incident = localized(record.data, lang)
        for item in (incident.get("diagnosis") or {}).get("evidence") or []:
            if source_kind(item.get("source")) == "node-agent":
                findings.append({"incident": incident, "item": item})
    rows = [r._replace(data=localized(r.data, lang)) for r in page.incidents]
    return render(request, "node.html.j2", node=node, page=page, rows=rows, findings=findings)


async def silence_list(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    now = settings.clock()
    silences = await settings.store.silences(now=now, include_expired=True)
    prefill = {
        k: request.query[k] for k in ("namespace", "pod", "category", "id", "node") if request.query.get(k)
    }
    return render(
        request,
        "silences.html.j2",
        silences=silences,
        now=now,
        prefill=prefill,
        error=request.query.get("error", ""),
    )


def _check_write(request: web.Request, form: Any) -> SilenceRejected | None:
    """Why this write is refused, or None: the write token and the CSRF double-submit."""
    settings = request.app[SETTINGS]
    read_only = settings.read_only_reason()
    if read_only is not None:
        return SilenceRejected(read_only, **waiting_for(settings))
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or form.get("csrf", "") != cookie:
        return SilenceRejected("csrf")
    header = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if not settings.token_ok(form.get("token") or header):
        return SilenceRejected("token")
    return None


def _refused(request: web.Request, why: SilenceRejected) -> web.Response:
    return web.Response(status=403, text=why.text(request_lang(request)) + "\n")


def _form_silence(form: Any) -> tuple[dict[str, str], float, str]:
    """The form's ``key=value`` lines as the API's body, validated the same way."""
    matchers: dict[str, str] = {}
    for line in str(form.get("matchers", "")).replace(",", "\n").splitlines():
        key, sep, value = line.strip().partition("=")
        if line.strip() and (not sep or not key.strip()):
            raise SilenceRejected("not_key_value", line=repr(line.strip()))
        if sep:
            if key.strip() in matchers:
                raise SilenceRejected("twice", key=repr(key.strip()))
            matchers[key.strip()] = value.strip()
    body = {"matchers": matchers, "duration": form.get("duration", ""), "comment": form.get("comment", "")}
    return validate_silence(body)


async def silence_create(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    form = await request.post()
    refused = _check_write(request, form)
    if refused:
        return _refused(request, refused)
    try:
        matchers, seconds, comment = _form_silence(form)
    except SilenceRejected as e:
        raise web.HTTPSeeOther(location="/silences?error=" + _q(e.text(request_lang(request)))) from None
    now = settings.clock()
    silence = Silence(uuid.uuid4().hex[:12], matchers, now, now + seconds, comment, "console", now)
    await settings.store.add_silence(silence)
    raise web.HTTPSeeOther(location="/silences")


async def silence_expire(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    form = await request.post()
    refused = _check_write(request, form)
    if refused:
        return _refused(request, refused)
    await settings.store.expire_silence(request.match_info["silence_id"], at=settings.clock())
    raise web.HTTPSeeOther(location="/silences")


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


def _q(text: str) -> str:
    from urllib.parse import quote

    return quote(text[:300], safe="")
