"""Property tests for every parser of outside data: whatever the input, each one answers or
refuses with its own error, never another exception. Small ``max_examples`` keep the suite fast;
the properties are what would catch a regression."""

from __future__ import annotations

import asyncio
import contextlib
import string
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podsleuth.alert.model import decode_change
from podsleuth.alert.render import Renderer
from podsleuth.cli.diagnose import _parse_line
from podsleuth.config import parse_settings
from podsleuth.diagnose.knowledge import KnowledgeBase
from podsleuth.errors import ConfigError, KubeconfigError
from podsleuth.jsontext import dumps
from podsleuth.kube.auth import load_credentials
from podsleuth.kube.client import OversizeLine, _split_lines
from podsleuth.node import kmsg, mountinfo
from podsleuth.watch.objects import Pod
from podsleuth.watch.wire import Decoders
from tests.alert.helpers import change

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
hostile_text = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=300)
any_bytes = st.binary(max_size=400)


# --- watch lines and objects -------------------------------------------------------------


class _Chunks:
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    async def iter_any(self) -> AsyncIterator[bytes]:
        for c in self.chunks:
            yield c


def _lines(chunks: list[bytes], max_line: int) -> list[bytes | int]:
    async def collect() -> list[bytes | int]:
        out: list[bytes | int] = []
        async for batch in _split_lines(_Chunks(chunks), max_line=max_line):  # type: ignore[arg-type]
            out += [b.size if isinstance(b, OversizeLine) else bytes(b) for b in batch]
        return out

    return asyncio.run(collect())


@FAST
@given(
    st.lists(st.binary(min_size=1, max_size=60).filter(lambda b: b"\n" not in b and b.strip()), max_size=12),
    st.lists(st.integers(1, 50), min_size=1, max_size=20),
)
def test_watch_lines_survive_any_chunking(lines: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(line + b"\n" for line in lines)
    chunks, i, k = [], 0, 0
    while i < len(stream):
        n = cuts[k % len(cuts)]
        chunks.append(stream[i : i + n])
        i, k = i + n, k + 1
    expected = [line.removesuffix(b"\r") for line in lines]
    assert [x for x in _lines(chunks, 1 << 20) if x] == [x for x in expected if x]
    # with a small cap, every line longer than it is reported by size, never buffered
    small = _lines(chunks, 20)
    assert len(small) == len([x for x in expected if x])
    for got, want in zip(small, [x for x in expected if x], strict=True):
        assert got == (len(want) if len(want) > 20 else want)


DECODERS = Decoders(Pod, "pods")


@FAST
@given(any_bytes)
def test_watch_decoders_never_raise_unexpectedly(line: bytes) -> None:
    assert DECODERS.lenient_event(line) is None or isinstance(DECODERS.lenient_event(line), tuple)
    DECODERS.bookmark(line)
    DECODERS.error_status(line)


json_scalar = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | hostile_text
json_value = st.recursive(
    json_scalar,
    lambda c: st.lists(c, max_size=4) | st.dictionaries(hostile_text, c, max_size=4),
    max_leaves=20,
)


@FAST
@given(st.dictionaries(st.sampled_from(["metadata", "spec", "status", "kind"]), json_value, max_size=4))
def test_watch_objects_decode_or_are_skipped(obj: dict[str, Any]) -> None:
    import json

    line = json.dumps({"type": "ADDED", "object": obj}, ensure_ascii=False).encode("utf-8", "surrogatepass")
    got = DECODERS.lenient_event(line)
    assert got is None or got[0] == "ADDED"


# --- mountinfo and kmsg --------------------------------------------------------------------


@FAST
@given(hostile_text)
def test_mountinfo_lines_parse_or_raise_value_error(line: str) -> None:
    with contextlib.suppress(ValueError):  # its own refusal; any other exception fails the test
        mountinfo.parse_line(line)
    assert isinstance(mountinfo.parse_mountinfo(line), list)


@FAST
@given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), min_size=1, max_size=80))
def test_mountinfo_escape_round_trips(path: str) -> None:
    line = f"36 25 0:32 / {mountinfo.escape('/' + path)} rw - tmpfs tmpfs rw"
    assert mountinfo.parse_line(line).mount_point == "/" + path


kmsg_like = st.one_of(
    hostile_text,
    st.builds(
        lambda lvl, seq, ts, msg: f"{lvl},{seq},{ts},-;{msg}",
        st.integers(0, 7),
        st.integers(0, 10**6),
        st.integers(0, 10**12),
        hostile_text,
    ),
    st.builds(
        lambda pid, comm: f"Out of memory: Killed process {pid} ({comm}) total-vm:1kB",
        st.integers(),
        hostile_text,
    ),
    st.builds(
        lambda c: f"oom-kill:constraint=CONSTRAINT_MEMCG,task_memcg={c},task=x,pid=1,uid=0", hostile_text
    ),
)


@FAST
@given(st.lists(kmsg_like, max_size=20))
def test_kmsg_parsers_never_raise(lines: list[str]) -> None:
    for line in lines:
        kmsg.split_line(line)
    events = kmsg.parse_lines(lines, boot_time=1.0)
    assert all(dumps(e.to_dict()).encode("utf-8") for e in events)


# --- messages ------------------------------------------------------------------------------

KB = KnowledgeBase.default()


@FAST
@given(
    st.one_of(hostile_text, any_bytes.map(lambda b: b.decode("utf-8", "replace"))), st.none() | hostile_text
)
def test_messages_classify_and_serialise(message: str, reason: str | None) -> None:
    import json

    line = json.dumps({"message": message, "reason": reason}, ensure_ascii=True)
    parsed = _parse_line(1, line)
    assert isinstance(parsed, tuple)
    c = KB.classify(*parsed)
    out = dumps({"message": parsed[0], **c.to_json()})
    out.encode("utf-8")  # strict: valid UTF-8 whatever came in
    assert "\n" not in out


@FAST
@given(hostile_text)
def test_message_lines_that_are_not_objects_get_an_error(line: str) -> None:
    parsed = _parse_line(7, line)
    assert isinstance(parsed, tuple) or (parsed["line"] == 7 and parsed["error"])


# --- kubeconfig and config -----------------------------------------------------------------

yaml_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(string.printable, max_size=20),
    lambda c: (
        st.lists(c, max_size=3)
        | st.dictionaries(st.text(string.ascii_letters + "-_", max_size=12), c, max_size=4)
    ),
    max_leaves=15,
)
kubeconfig_like = st.fixed_dictionaries(
    {},
    optional={
        "apiVersion": yaml_value,
        "clusters": st.lists(st.fixed_dictionaries({"name": yaml_value, "cluster": yaml_value}), max_size=2),
        "users": st.lists(st.fixed_dictionaries({"name": yaml_value, "user": yaml_value}), max_size=2),
        "contexts": st.lists(st.fixed_dictionaries({"name": yaml_value, "context": yaml_value}), max_size=2),
        "current-context": yaml_value,
    },
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.one_of(kubeconfig_like.map(yaml.safe_dump), st.text(string.printable, max_size=200)))
def test_kubeconfig_loads_or_is_one_kubeconfig_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(text)

    async def load() -> None:
        try:
            await load_credentials(kubeconfig=str(path), context=None)
        except KubeconfigError as e:
            assert "\n" not in str(e)

    asyncio.run(load())


config_like = st.fixed_dictionaries(
    {},
    optional={
        "watch": yaml_value,
        "alerts": st.fixed_dictionaries(
            {},
            optional={
                "receivers": st.lists(
                    st.dictionaries(
                        st.sampled_from(["name", "webhook", "apprise", "alertmanager"]), yaml_value
                    ),
                    max_size=2,
                ),
                "routes": st.lists(
                    st.dictionaries(st.sampled_from(["match", "receivers", "continue"]), yaml_value),
                    max_size=2,
                ),
                "group_wait": yaml_value,
            },
        ),
        "store": yaml_value,
        "node_agents": yaml_value,
    },
)


@FAST
@given(st.one_of(config_like.map(yaml.safe_dump), st.text(string.printable, max_size=200)))
def test_config_parses_or_is_one_config_error(text: str) -> None:
    try:
        parse_settings(text, source="c.yaml")
    except ConfigError as e:
        assert str(e).startswith("c.yaml") and "\n" not in str(e)


# --- alert templates fed hostile incident text ----------------------------------------------

RENDERERS = {loc: Renderer(locale=loc) for loc in ("en", "zh")}


@FAST
@given(
    hostile_text,
    hostile_text,
    st.sampled_from(["markdown", "text"]),
    st.sampled_from(["en", "zh"]),
    st.sampled_from(["incident.opened", "incident.updated", "incident.resolved"]),
)
def test_templates_render_hostile_incident_text(
    text: str, name: str, fmt: str, locale: str, event: str
) -> None:
    raw = change(event, root_cause=text, pod=name or None, container=text[:20] or None, labels={"team": text})
    raw["incident"]["message"] = text
    message = RENDERERS[locale].render([decode_change(raw)], fmt=fmt)  # type: ignore[arg-type]
    assert "\n" not in message.title and message.body.endswith("\n")
