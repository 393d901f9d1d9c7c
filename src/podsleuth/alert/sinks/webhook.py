"""Generic webhook: one POST per incident change, the body exactly the CONTRACT.md change.

One POST per change keeps the body the documented contract shape, so receivers need no batch
format; the changes of a batch are posted concurrently. When some posts of a batch fail, the
outbox retries the batch: the changes the receiver already accepted are remembered per batch
(``ACKED_BATCHES`` batches at most) and not posted again, so one failing post does not resend
its siblings. After a restart that memory is gone: a batch retried then is marked
``possible_duplicate`` by the outbox.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections import OrderedDict
from pathlib import Path

import aiohttp

from podsleuth.alert.sinks import Batch, SinkError, classify_status
from podsleuth.config import WebhookReceiver
from podsleuth.errors import ConfigError
from podsleuth.redact import redact, redact_headers, url_secrets

SIGNATURE_HEADER = "X-Podsleuth-Signature"
ACKED_BATCHES = 10_000


def sign(body: bytes, secret: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def read_secret(path: str) -> bytes:
    try:
        return Path(path).read_bytes().strip()
    except OSError as e:
        raise ConfigError(f"webhook hmac_secret_file {path}: {e.strerror}") from None


class WebhookSink:
    def __init__(self, config: WebhookReceiver, *, target: str = "webhook") -> None:
        self.target = target
        self.url = config.url
        self.headers = dict(config.headers)
        self.timeout = config.timeout
        self.secret = read_secret(config.hmac_secret_file) if config.hmac_secret_file else b""
        self.description = f"webhook {redact(config.url)} headers={redact_headers(self.headers)}"
        self.secrets = (*url_secrets(config.url), *self.headers.values())
        self._session: aiohttp.ClientSession | None = None
        self._acked: OrderedDict[str, set[int]] = OrderedDict()
        """batch id -> positions of its changes the receiver accepted (a partly failed batch)."""

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def send(self, batch: Batch) -> None:
        acked = self._acked.get(batch.batch_id, set())
        pending = [(n, c) for n, c in enumerate(batch.changes) if n not in acked]
        results = await asyncio.gather(*(self.post(c.raw) for _, c in pending), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if not failures:
            self._acked.pop(batch.batch_id, None)
            return
        acked |= {n for (n, _), r in zip(pending, results, strict=True) if not isinstance(r, BaseException)}
        self._acked[batch.batch_id] = acked
        self._acked.move_to_end(batch.batch_id)
        while len(self._acked) > ACKED_BATCHES:
            self._acked.popitem(last=False)
        raise failures[0]

    async def post(self, change: dict[str, object]) -> None:
        body = json.dumps(change, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "podsleuth", **self.headers}
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(body, self.secret)
        try:
            async with self._client().post(self.url, data=body, headers=headers) as resp:
                await resp.read()
                if resp.status >= 300:
                    raise classify_status(resp.status, what="webhook")
        except TimeoutError:
            raise SinkError(f"webhook: no answer within {self.timeout:g}s") from None
        except aiohttp.ClientError as e:
            # str(e) of a response error carries the full URL: name only the class.
            raise SinkError(f"webhook: {type(e).__name__}") from None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
