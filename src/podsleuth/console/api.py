"""The console's JSON API: what scripts and a laptop's `podsleuth` use.

``GET /api/incidents`` takes the list page's filters and answers ``{"total", "incidents"}``
(contract-shaped incidents), each diagnosis's texts in ``?lang=en|zh`` (default: the console's
``--lang``; not the browser's cookie: a script's answer must not depend on it) exactly as
``incidents show -o json --lang`` gives them: ids, field names and ``translations`` unchanged,
``diagnosis.locale`` saying which language the texts are in.

``POST /api/silences`` creates a silence from
``{"matchers": {...}, "duration": "4h", "comment": "..."}``: this is how a silence made on a
laptop reaches a watcher running in the cluster (through ``kubectl port-forward`` to its
console). It needs ``Authorization: Bearer <token>``, or the same token in ``X-Podsleuth-Token``
(through the API server's service proxy, which strips ``Authorization``); no CSRF token, because
a browser never attaches either header to a cross-site request by itself.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from aiohttp import web

from podsleuth.console.app import SETTINGS, ConsoleSettings
from podsleuth.console.i18n import WORDS
from podsleuth.console.present import localized
from podsleuth.console.write_token import TokenFile
from podsleuth.durations import parse_duration
from podsleuth.locale import resolve_lang
from podsleuth.store.base import Silence
from podsleuth.store.queries import MAX_SILENCE, SILENCE_FIELDS, list_incidents

MATCH_KEYS = SILENCE_FIELDS
TOKEN_HEADER = "X-Podsleuth-Token"
"""The write token when ``Authorization`` cannot carry it: kube-apiserver's service proxy
(``silence add --context``) authenticates the caller by that header and then removes it
(apiserver ``authentication/request/bearertoken``), so a console behind it would never see a
bearer token. Checked the same constant-time way (``ConsoleSettings.token_ok``)."""


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def incidents(request: web.Request) -> web.Response:
    from podsleuth.console.views import filter_from_query

    settings = request.app[SETTINGS]
    try:
        lang = resolve_lang(request.query.get("lang"), settings.lang, {})
    except ValueError as e:
        return _error(400, str(e))
    limit = min(max(int(request.query.get("limit", "100") or 100), 1), 1000)
    page = await list_incidents(settings.store, filter_from_query(request.query), limit=limit)
    body = {
        "total": page.total,
        "incidents": [dict(localized(r.data, lang), state=r.status) for r in page.incidents],
    }
    return web.json_response(body, dumps=lambda v: json.dumps(v, ensure_ascii=False))


class SilenceRejected(ValueError):
    """Why a silence request is refused, in any of the console's languages: the form answers in
    the page's (``text(lang)``), the JSON API and ``str()`` in English, the words in
    ``console.i18n.WORDS["rej_<reason>"]``."""

    def __init__(self, reason: str, **params: str) -> None:
        self.reason, self.params = reason, params
        super().__init__(self.text("en"))

    def text(self, lang: str) -> str:
        forms = WORDS["rej_" + self.reason]
        return (forms.get(lang) or forms["en"]).format(**self.params)


def waiting_for(settings: ConsoleSettings) -> dict[str, str]:
    """The token file a read-only console waits for (a path, never the token)."""
    source = settings.write_token
    return {"path": str(source.path)} if isinstance(source, TokenFile) else {}


def validate_silence(body: Any) -> tuple[dict[str, str], float, str]:
    """(matchers, seconds, comment) from a request body; SilenceRejected names what is wrong."""
    if not isinstance(body, dict):
        raise SilenceRejected("body")
    matchers = body.get("matchers")
    if not isinstance(matchers, dict) or not matchers:
        raise SilenceRejected("no_matchers")
    for key, value in matchers.items():
        if not isinstance(value, str) or not value:
            raise SilenceRejected("empty_value", key=str(key))
        if key not in MATCH_KEYS and not str(key).startswith("label."):
            raise SilenceRejected("unknown_key", key=repr(key))
    duration = str(body.get("duration", ""))
    try:
        seconds = parse_duration(duration)
    except ValueError:
        raise SilenceRejected("duration", text=repr(duration)) from None
    if not 0 < seconds <= MAX_SILENCE:
        raise SilenceRejected("duration_range")
    comment = body.get("comment", "")
    if not isinstance(comment, str):
        raise SilenceRejected("comment")
    return {str(k): v for k, v in matchers.items()}, seconds, comment[:500]


async def create_silence(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    read_only = settings.read_only_reason()
    if read_only is not None:
        return _error(403, SilenceRejected(read_only, **waiting_for(settings)).text("en"))
    header = request.headers.get("Authorization", "")
    given = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
    if not settings.token_ok(given or request.headers.get(TOKEN_HEADER)):
        how = f" (Authorization: Bearer, or {TOKEN_HEADER})"
        return _error(401, SilenceRejected("token").text("en") + how)
    try:
        matchers, seconds, comment = validate_silence(await request.json())
    except (ValueError, json.JSONDecodeError) as e:
        return _error(400, str(e))
    now = settings.clock()
    creator = str(request.headers.get("X-Podsleuth-User", "api"))[:64]
    silence = Silence(uuid.uuid4().hex[:12], matchers, now, now + seconds, comment, creator, now)
    await settings.store.add_silence(silence)
    body = {"id": silence.id, "matchers": matchers, "starts_at": now, "ends_at": now + seconds}
    return web.json_response(body, status=201)
