"""``KubeClient``: one aiohttp session to the API server; errors mapped onto ``podsleuth.errors``.

Below this module are aiohttp and the ssl module; above it nobody sees their exceptions.
Every request has a timeout; a watch stream has an inactivity timeout instead of a total one,
so a silently dead connection (NAT dropped, API server stalled) ends instead of hanging.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Any

import aiohttp
import msgspec

from podsleuth import errors
from podsleuth.kube import auth
from podsleuth.kube.errors import api_error

Params = Mapping[str, str | int]

DEFAULT_MAX_LINE = 16 * 1024 * 1024
"""One watch line (one object) at most; a longer one is skipped while reading, never buffered."""
DEFAULT_MAX_RESPONSE = 64 * 1024 * 1024
"""One response body (a list page, an object) at most, counted while reading (after gzip)."""
DEFAULT_MAX_LIST = 1024 * 1024 * 1024
"""All pages of one paginated list together (the pages of a ``continue`` chain) at most."""


class ResponseTooLarge(errors.ApiServerError):
    """A response, or a paginated list, larger than its cap: a broken or hostile API server.
    Refused while reading, so memory never holds more than the cap."""


class StreamTimeout(errors.ApiUnreachable):
    """No bytes on a watch stream within the read timeout: the stream is presumed dead."""


class OversizeLine:
    """Stands for a watch line longer than the cap; its bytes were skipped, not buffered."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        self.size = size


class KubeClient:
    """An open connection pool to one API server; use as ``async with``."""

    def __init__(
        self, *, credentials: auth.Credentials, request_timeout: float = 30.0, connect_timeout: float = 10.0
    ) -> None:
        self.credentials = credentials
        self.server = credentials.server
        self.request_timeout = request_timeout
        self.connect_timeout = connect_timeout
        self.max_response = DEFAULT_MAX_RESPONSE
        self.max_list = DEFAULT_MAX_LIST
        self._list_bytes: dict[str, int] = {}  # per path: bytes of the current continue chain
        connector = aiohttp.TCPConnector(
            ssl=credentials.ssl if credentials.ssl is not None else False,
            limit=32,
            enable_cleanup_closed=True,
        )
        self._session = aiohttp.ClientSession(
            connector=connector, read_bufsize=1 << 20, headers={"Accept": "application/json"}
        )

    async def __aenter__(self) -> KubeClient:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._session.close()

    async def _headers(self) -> dict[str, str]:
        value = await self.credentials.authorization()
        return {"Authorization": value} if value else {}

    def _kwargs(self) -> dict[str, Any]:
        host = self.credentials.server_hostname
        return {"server_hostname": host} if host else {}

    async def _raise_for(self, resp: aiohttp.ClientResponse, *, verb: str, path: str) -> None:
        if resp.status < 400:
            return
        body = await resp.content.read(64 * 1024)
        if resp.status == 401:
            await self.credentials.invalidate()
        raise api_error(
            status=resp.status, body=body, method=resp.method, path=path, verb=verb, server=self.server,
            retry_after_header=resp.headers.get("Retry-After"),
        )

    def _unreachable(self, e: BaseException) -> errors.ApiUnreachable:
        what = e.__class__.__name__ if isinstance(e, TimeoutError) else f"{e.__class__.__name__}: {e}"
        return errors.ApiUnreachable(f"cannot reach the API server at {self.server}: {what}")

    async def get(self, path: str, params: Params | None = None) -> bytes:
        """GET with a total timeout; the body as bytes. A list page continuing a list (a
        ``continue`` param) counts towards the list's total cap (``max_list``)."""
        body = await self._send("GET", path, params=params, verb="list" if params is not None else "get")
        if params is not None:
            total = len(body) + (self._list_bytes.get(path, 0) if "continue" in params else 0)
            if total > self.max_list:
                self._list_bytes.pop(path, None)
                raise ResponseTooLarge(
                    f"the list of {path} from {self.server} exceeds {self.max_list >> 20} MiB "
                    "over its pages: refused (a broken or hostile API server?)"
                )
            if len(self._list_bytes) > 64:
                self._list_bytes.clear()
            self._list_bytes[path] = total
        return body

    async def post(self, path: str, body: bytes | Mapping[str, Any]) -> bytes:
        """POST a JSON object (e.g. create an Event); the created object as bytes."""
        return await self._send("POST", path, body=body, verb="create")

    async def put(self, path: str, body: bytes | Mapping[str, Any]) -> bytes:
        """PUT (replace) a JSON object; the stored object as bytes. A stale
        ``metadata.resourceVersion`` raises ``ApiConflict``."""
        return await self._send("PUT", path, body=body, verb="update")

    async def _send(
        self,
        method: str,
        path: str,
        *,
        verb: str,
        params: Params | None = None,
        body: bytes | Mapping[str, Any] | None = None,
    ) -> bytes:
        """One request with a total timeout, its errors mapped onto podsleuth's tree."""
        timeout = aiohttp.ClientTimeout(total=self.request_timeout, connect=self.connect_timeout)
        headers = await self._headers()
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else msgspec.json.encode(body)
            headers = {**headers, "Content-Type": "application/json"}
        try:
            async with self._session.request(
                method,
                self.server + path,
                params=_str(params),
                data=data,
                timeout=timeout,
                headers=headers,
                **self._kwargs(),
            ) as resp:
                await self._raise_for(resp, verb=verb, path=path)
                return await self._read_capped(resp, path)
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            raise self._unreachable(e) from e

    async def _read_capped(self, resp: aiohttp.ClientResponse, path: str) -> bytes:
        """The body, refused as soon as it passes ``max_response`` (Content-Length or counted)."""
        limit = self.max_response
        if resp.content_length is not None and resp.content_length > limit:
            raise ResponseTooLarge(self._too_large(path, limit))
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(1 << 20):
            size += len(chunk)
            if size > limit:
                raise ResponseTooLarge(self._too_large(path, limit))
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, path: str, limit: int) -> str:
        return (f"a response of {path} from {self.server} exceeds {limit >> 20} MiB: refused "
                "(a broken or hostile API server?)")

    async def stream_batches(
        self, path: str, params: Params, *, read_timeout: float, max_line: int = DEFAULT_MAX_LINE
    ) -> AsyncIterator[list[Line | OversizeLine]]:
        """One watch stream, as the lists of complete lines each network read brought.

        Batches, not single lines: at ~100,000 events/s an async-generator hop per line is a
        measurable share of the cost. Ends when the server ends the stream. Raises StreamTimeout
        when no bytes arrive within ``read_timeout``, ApiUnreachable when the connection drops,
        the mapped ApiError for an error status.
        """
        timeout = aiohttp.ClientTimeout(total=None, connect=self.connect_timeout, sock_read=read_timeout)
        try:
            async with self._session.get(
                self.server + path,
                params=_str(params),
                timeout=timeout,
                headers=await self._headers(),
                **self._kwargs(),
            ) as resp:
                await self._raise_for(resp, verb="watch", path=path)
                async for batch in _split_lines(resp.content, max_line=max_line):
                    yield batch
        except (aiohttp.ServerTimeoutError, TimeoutError) as e:
            raise StreamTimeout(
                f"no data from {self.server} for {read_timeout:g}s on a watch of "
                f"{path}: the stream is presumed dead"
            ) from e
        except (aiohttp.ClientError, OSError) as e:
            raise self._unreachable(e) from e


Line = bytes | memoryview
"""A watch line: a zero-copy view into the network read where possible (msgspec decodes any
buffer), bytes when it spanned two reads."""


async def _split_lines(
    content: aiohttp.StreamReader, *, max_line: int
) -> AsyncIterator[list[Line | OversizeLine]]:
    """Complete lines of a chunked body, per read, with a size cap (aiohttp's readline caps at
    128 KiB and raises). Lines are memoryview slices of the read: copying each ~6 KB event
    into its own bytes object cost more than decoding it. CRLF line ends are accepted."""
    parts: list[bytes] = []  # the unfinished line carried over from previous reads
    carried = 0  # its length
    skipping = 0  # >0: inside an oversize line, this many bytes dropped so far
    async for chunk in content.iter_any():
        batch: list[Line | OversizeLine] = []
        start = 0
        if skipping or parts:
            end = chunk.find(b"\n")
            if end < 0:
                if skipping or carried + len(chunk) > max_line:
                    skipping += carried + len(chunk)
                    parts, carried = [], 0
                else:
                    parts.append(chunk)
                    carried += len(chunk)
                continue
            if skipping:
                batch.append(OversizeLine(skipping + end))
            elif carried + end > max_line:
                batch.append(OversizeLine(carried + end))
            else:
                line = b"".join([*parts, chunk[:end]]).rstrip(b"\r")
                if line:
                    batch.append(line)
            skipping, parts, carried, start = 0, [], 0, end + 1
        view = memoryview(chunk)
        find = chunk.find
        while (end := find(b"\n", start)) >= 0:
            stop = end - 1 if end > start and chunk[end - 1] == 13 else end  # drop a CR
            if stop - start > max_line:
                batch.append(OversizeLine(stop - start))
            elif stop > start:
                batch.append(view[start:stop])
            start = end + 1
        rest = len(chunk) - start
        if rest > max_line:
            skipping = rest
        elif rest:
            parts, carried = [chunk[start:]], rest
        if batch:
            yield batch
    if skipping:
        yield [OversizeLine(skipping)]
    elif (last := b"".join(parts).strip()):
        yield [last]


def _str(params: Params | None) -> dict[str, str] | None:
    return None if params is None else {k: str(v) for k, v in params.items()}


async def connect(
    *, kubeconfig: str | None, context: str | None, request_timeout: float = 30.0
) -> KubeClient:
    """Load credentials (kubeconfig incl. exec plugins, or in-cluster) and open a client.

    Raises KubeconfigError with one line naming the problem.
    """
    credentials = await auth.load_credentials(kubeconfig=kubeconfig, context=context)
    await asyncio.sleep(0)
    return KubeClient(credentials=credentials, request_timeout=request_timeout)
