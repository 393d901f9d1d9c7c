"""The watch stream's line splitter against every way a line can arrive over the network."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from podsleuth.kube.client import OversizeLine, _split_lines


class _Reads:
    """Stands in for aiohttp's StreamReader: ``iter_any`` yields the given reads."""

    def __init__(self, reads: list[bytes]) -> None:
        self.reads = reads

    async def iter_any(self) -> AsyncIterator[bytes]:
        for read in self.reads:
            await asyncio.sleep(0)
            yield read


async def _lines(reads: list[bytes], max_line: int = 1000) -> list[bytes | int]:
    out: list[bytes | int] = []
    async for batch in _split_lines(_Reads(reads), max_line=max_line):  # type: ignore[arg-type]
        out.extend(x.size if isinstance(x, OversizeLine) else bytes(x) for x in batch)
    return out


@pytest.mark.parametrize(
    ("reads", "expected"),
    [
        ([b"a\nbb\n"], [b"a", b"bb"]),
        ([b"a", b"b", b"c\n"], [b"abc"]),  # one line over three reads
        ([b"ab", b"c\nd", b"e\n"], [b"abc", b"de"]),
        ([b"a\r\nb\r\n"], [b"a", b"b"]),  # CRLF
        ([b"a\r", b"\nb\n"], [b"a", b"b"]),  # CR at the end of a read
        ([b"\n\n a\n\n"], [b" a"]),  # empty lines skipped
        ([b"a\nlast"], [b"a", b"last"]),  # a final line without newline
    ],
)
async def test_lines(reads: list[bytes], expected: list[bytes]) -> None:
    assert await _lines(reads) == expected


async def test_oversize_lines_are_reported_and_skipped() -> None:
    assert await _lines([b"x" * 20 + b"\nok\n"], max_line=10) == [20, b"ok"]
    assert await _lines([b"x" * 8, b"x" * 8, b"x" * 8 + b"\nok\n"], max_line=10) == [24, b"ok"]
    assert await _lines([b"x" * 10 + b"\n"], max_line=10) == [b"x" * 10]  # exactly the cap


async def test_a_long_line_in_many_small_reads_is_linear() -> None:
    reads = [b"y" * 100] * 20_000 + [b"\n"]  # 2 MB in 100-byte reads
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await _lines(reads, max_line=4_000_000) == [b"y" * 2_000_000]
    assert loop.time() - started < 2.0
