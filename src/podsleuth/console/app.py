"""The web console: an aiohttp application over an incident store.

Server-rendered with Jinja2 (autoescape on: every value from the cluster — messages,
termination messages, logs — is data, never markup) plus one small static script for live
updates and copy buttons, so the page works without JavaScript and the Content-Security-Policy
can forbid inline script outright.

Writes (silences) need the token from ``--token-file`` *and* a CSRF token bound to a cookie
(double submit, ``SameSite=Strict``); without a token file the console is read-only.
"""

from __future__ import annotations

import hmac
import secrets
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import jinja2
from aiohttp import web

from podsleuth.console import i18n
from podsleuth.console.write_token import TokenFile
from podsleuth.store import Store

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self';"
    " form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
CSRF_COOKIE = "podsleuth_csrf"
LANG_COOKIE = "podsleuth_lang"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(kw_only=True)
class ConsoleSettings:
    store: Store
    write_token: str | TokenFile | None = None
    """The token that allows writes: a fixed one, a file that holds it while it exists (a
    mounted Secret), or ``None`` = a read-only console."""
    lang: str = "en"
    external_url: str = ""
    poll_interval: float = 1.0
    """How often the live view looks for changed incidents in the store (seconds)."""
    page_size: int = 50
    clock: Callable[[], float] = field(default=time.time)

    def current_token(self) -> str | None:
        """The token writes need now; None while the console is read-only."""
        if isinstance(self.write_token, TokenFile):
            return self.write_token.current()
        return self.write_token

    def read_only_reason(self) -> str | None:
        """Why writes are refused now (``console.i18n`` word key), or None when they are not."""
        if self.write_token is None:
            return "read_only"
        return "no_token_yet" if self.current_token() is None else None

    def token_ok(self, given: str | None) -> bool:
        token = self.current_token()
        if token is None or not given:
            return False
        return hmac.compare_digest(given.strip().encode(), token.encode())


SETTINGS: web.AppKey[ConsoleSettings] = web.AppKey("settings", ConsoleSettings)
TEMPLATES: web.AppKey[jinja2.Environment] = web.AppKey("templates", jinja2.Environment)


def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("podsleuth", "data/console/templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    from podsleuth.console import present

    env.filters.update(present.FILTERS)
    return env


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def request_lang(request: web.Request) -> str:
    """The language of this request's page: ``?lang=``, the cookie, ``Accept-Language``, the
    console's ``--lang``. Handlers localize the diagnosis with it, ``render`` the chrome."""
    return i18n.pick_lang(
        request.query.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("Accept-Language"),
        request.app[SETTINGS].lang,
    )


def _read_only_text(settings: ConsoleSettings, reason: str | None, lang: str) -> str:
    """What the silences page says instead of taking writes (the token file's path, when the
    console waits for one; never the token)."""
    if reason is None:
        return ""
    if reason == "read_only":
        return i18n.translator(lang)["read_only"]
    path = str(settings.write_token.path) if isinstance(settings.write_token, TokenFile) else ""
    return i18n.translator(lang)["rej_" + reason].format(path=path)


def render(request: web.Request, name: str, *, status: int = 200, **context: object) -> web.Response:
    """A page in the request's language, with a CSRF cookie the page's forms echo back."""
    settings = request.app[SETTINGS]
    lang = request_lang(request)
    reason = settings.read_only_reason()
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    body = (
        request.app[TEMPLATES]
        .get_template(name)
        .render(
            t=i18n.translator(lang),
            lang=lang,
            csrf=csrf,
            writable=reason is None,
            read_only_text=_read_only_text(settings, reason, lang),
            request_path=request.path_qs,
            **context,
        )
    )
    response = web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
    response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="Strict", path="/")
    if request.query.get("lang") in i18n.LANGS:
        response.set_cookie(LANG_COOKIE, request.query["lang"], samesite="Strict", path="/", max_age=31536000)
    return response


def create_app(settings: ConsoleSettings) -> web.Application:
    from podsleuth.console import api, live, views

    app = web.Application(middlewares=[security_headers], client_max_size=64 * 1024)
    app[SETTINGS] = settings
    app[TEMPLATES] = templates()
    app.router.add_get("/", views.incident_list)
    app.router.add_get("/incidents", views.incident_list)
    app.router.add_get("/incidents/{incident_id}", views.incident_page)
    app.router.add_get("/nodes/{node}", views.node_page)
    app.router.add_get("/silences", views.silence_list)
    app.router.add_post("/silences", views.silence_create)
    app.router.add_post("/silences/{silence_id}/expire", views.silence_expire)
    app.router.add_get("/api/changes", live.changes_stream)
    app.router.add_get("/api/incidents", api.incidents)
    app.router.add_post("/api/silences", api.create_silence)
    app.router.add_get("/healthz", views.healthz)
    app.router.add_static("/static", views.STATIC_DIR, show_index=False)
    app[live.STREAMS] = weakref.WeakSet()
    app.on_shutdown.append(live.close_streams)
    return app
