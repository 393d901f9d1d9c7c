"""A console's JSON API from the command line: how a silence made on a laptop reaches a watcher
running in the cluster (``silence add --console URL --token-file F``).

One request with a timeout; every failure (unreachable, refused token, bad answer) is one line.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from podsleuth.cli.ui import read_token
from podsleuth.errors import InputError, ResourceError

TIMEOUT = 10.0


def post_silence(
    console_url: str,
    token_file: str | None,
    *,
    matchers: dict[str, str],
    duration: str,
    comment: str,
    user: str,
) -> dict[str, Any]:
    if not console_url.startswith(("http://", "https://")):
        raise InputError(f"--console {console_url!r}: expected http(s)://HOST:PORT")
    token = read_token(token_file)
    if token is None:
        raise InputError("--console needs --token-file: the console's write token")
    body = {"matchers": matchers, "duration": duration, "comment": comment}
    url = console_url.rstrip("/") + "/api/silences"
    headers = {"Authorization": f"Bearer {token}", "X-Podsleuth-User": user}
    return asyncio.run(_post(url, body, headers))


async def _post(url: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as http,
            http.post(url, json=body, headers=headers) as answer,
        ):
            try:
                data = await answer.json(content_type=None)
            except (ValueError, aiohttp.ContentTypeError):
                data = {}
            if answer.status != 201 or not isinstance(data, dict) or "id" not in data:
                problem = data.get("error") if isinstance(data, dict) else None
                raise ResourceError(
                    f"console {url} refused the silence: HTTP {answer.status} {problem or ''}".strip()
                )
            return data
    except (aiohttp.ClientError, TimeoutError) as e:
        raise ResourceError(f"console {url} unreachable: {e.__class__.__name__} {e}".strip()) from None
