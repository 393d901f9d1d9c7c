"""Chat and email through apprise: one sink per apprise URL, so one dead chat does not make the
others repeat a message.

apprise is synchronous (requests, smtplib): each send runs in a worker thread under a timeout,
and the URL gets apprise's own socket timeouts too, so a black-holed host cannot pile up
threads. apprise and urllib3 log request URLs with their tokens at debug level; a scrubbing filter
on their loggers masks them for as long as the sink lives.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from urllib.parse import urlsplit

with warnings.catch_warnings():
    # apprise's PGP helper imports the stdlib imghdr (deprecated in 3.11, gone in 3.13) for
    # its own shim; silence only that, once, at import, so warnings stay errors elsewhere.
    warnings.filterwarnings("ignore", message="'imghdr' is deprecated", category=DeprecationWarning)
    import apprise
    import apprise.utils.pgp

from podsleuth.alert.render import Format, Renderer
from podsleuth.alert.sinks import Batch, SinkError
from podsleuth.errors import ConfigError
from podsleuth.redact import ScrubFilter, redact, url_secrets

EMAIL_SCHEMES = frozenset({"mailto", "mailtos", "email"})
# Loggers that print request URLs (with their tokens) while apprise sends.
LIBRARY_LOGGERS = ("apprise", "urllib3.connectionpool")


def _with_socket_timeouts(url: str, timeout: float) -> str:
    """Add apprise's connect/read timeouts (cto/rto) unless the user set them."""
    query = urlsplit(url).query
    keys = {kv.split("=", 1)[0] for kv in query.split("&") if kv}
    extra = [f"{k}={timeout:g}" for k in ("cto", "rto") if k not in keys]
    if not extra:
        return url
    sep = "&" if "?" in url else "?"
    return url + sep + "&".join(extra)


class AppriseSink:
    def __init__(self, url: str, *, renderer: Renderer, target: str, timeout: float = 15.0) -> None:
        self.target = target
        self.timeout = timeout
        self.renderer = renderer
        scheme = urlsplit(url).scheme.lower()
        self.fmt: Format = "text" if scheme in EMAIL_SCHEMES else "markdown"
        self.description = f"apprise {redact(url)}"
        self.secrets = tuple(url_secrets(url))
        self._filter = ScrubFilter(self.secrets)
        for name in LIBRARY_LOGGERS:
            logging.getLogger(name).addFilter(self._filter)
        self._apprise = apprise.Apprise()
        if not self._apprise.add(_with_socket_timeouts(url, max(1.0, timeout / 2))):
            raise ConfigError(f"apprise URL not understood: {self.description}")

    async def send(self, batch: Batch) -> None:
        message = self.renderer.render(batch.changes, fmt=self.fmt, receiver=batch.receiver)
        body_format = apprise.NotifyFormat.TEXT if self.fmt == "text" else apprise.NotifyFormat.MARKDOWN
        try:
            ok = await asyncio.wait_for(
                asyncio.to_thread(
                    self._apprise.notify, body=message.body, title=message.title, body_format=body_format
                ),
                timeout=self.timeout,
            )
        except TimeoutError:
            raise SinkError(f"{self.description}: no answer within {self.timeout:g}s") from None
        if not ok:
            raise SinkError(f"{self.description}: notification failed (see apprise log)")

    async def aclose(self) -> None:
        for name in LIBRARY_LOGGERS:
            logging.getLogger(name).removeFilter(self._filter)
