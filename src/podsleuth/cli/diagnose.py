"""``podsleuth diagnose``: classify failure messages offline with the signature knowledge base.

``messages`` streams: one result per input line, written as soon as it is classified, so that
a large file or a pipe needs no memory and a bad line costs only its own error object. Input is
JSON lines by default; ``--input-format lines`` takes raw log lines instead (dmesg, journalctl,
containerd logs), each line one message. ``message -`` reads one message, e.g. a pasted
``kubectl describe`` Events table, from stdin.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Iterator
from typing import IO, Any

import click

from podsleuth.cli.options import chosen_lang, lang_option, output_option
from podsleuth.diagnose.knowledge import Classification, KnowledgeBase
from podsleuth.diagnose.rules import render
from podsleuth.errors import InputError
from podsleuth.jsontext import clean, dumps, replace_surrogates
from podsleuth.textwidth import display_width, pad


@click.group(name="diagnose")
def group() -> None:
    """Classify error texts and diagnose pods."""


def _open_input(path: str) -> IO[str]:
    if path == "-":
        # Bytes that are not UTF-8 must not abort the stream: decode them as U+FFFD.
        # Only "\n" ends a line (not "\r", not U+2028), so output line N answers input line N.
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace", newline="\n")
    if os.path.isdir(path):
        raise InputError(f"cannot read input file {path}: is a directory")
    try:
        return open(path, encoding="utf-8", errors="replace", newline="\n")
    except OSError as e:
        raise InputError(f"cannot read input file {path}: {e.strerror or e}") from e


def _parse_line(number: int, line: str) -> tuple[str, str | None] | dict[str, Any]:
    """(message, reason) or the error object that replaces this line's result."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        return {"line": number, "error": f"invalid JSON: {e.msg} at column {e.colno}"}
    if not isinstance(obj, dict):
        return {"line": number, "error": 'expected a JSON object with a "message" string'}
    message = obj.get("message")
    if not isinstance(message, str):
        return {"line": number, "error": '"message" is missing or not a string'}
    reason = obj.get("reason")
    if reason is not None and not isinstance(reason, str):
        return {"line": number, "error": '"reason" must be a string when given'}
    # Lone surrogates ("x\ud800") cannot be encoded as UTF-8: replace them before anything.
    return replace_surrogates(message), None if reason is None else replace_surrogates(reason)


def _results(
    kb: KnowledgeBase, lines: Iterator[str], raw_lines: bool = False
) -> Iterator[dict[str, Any] | tuple[str, str | None, Classification]]:
    """Per input line: the error object, or (message, reason, classification). A blank line
    gets an error object too, so output line N always answers input line N. With
    ``raw_lines`` a line is the message itself (a log line), not a JSON object."""
    for number, raw in enumerate(lines, start=1):
        line = raw.strip(" \t\r\n")
        if not line:
            yield {"line": number, "error": "empty line"}
            continue
        if raw_lines:
            text = replace_surrogates(line)
            yield text, None, kb.classify(text)
            continue
        parsed = _parse_line(number, line)
        if isinstance(parsed, dict):
            yield parsed
        else:
            yield parsed[0], parsed[1], kb.classify(parsed[0], parsed[1])


def _json_result(message: str, reason: str | None, c: Classification, lang: str = "en") -> dict[str, Any]:
    out: dict[str, Any] = {"message": message}
    if reason is not None:
        out["reason"] = reason
    out.update(c.to_json(lang))
    return out


LABELS = {
    "en": {
        "message": "message", "signature": "signature", "none": "(none matched)",
        "category": "category", "summary": "summary", "candidates": "candidates",
        "root_cause": "root cause", "facts": "facts", "checks_api": "next checks (API)",
        "checks_node": "next checks (node)", "remediation": "remediation", "line": "line",
        "error": "error", ":": ":", "scored": "  (score {score:.2f})",
    },
    "zh": {
        "message": "消息", "signature": "特征", "none": "（未匹配）",
        "category": "类别", "summary": "概述", "candidates": "候选", "root_cause": "根因",
        "facts": "提取的事实", "checks_api": "下一步检查（API）", "checks_node": "下一步检查（节点）",
        "remediation": "处理建议", "line": "第", "error": "错误", ":": "：", "scored": "（得分 {score:.2f}）",
    },
}  # fmt: skip
"""The text report's labels per language; the values (ids, facts, commands) stay as they are."""


def _text_report(c: Classification, message: str | None = None, lang: str = "en") -> str:
    words, texts = LABELS[lang], c.texts(lang)
    rows: list[tuple[str, str]] = []
    if message is not None:
        rows.append((words["message"], message if len(message) <= 300 else message[:297] + "..."))
    score = words["scored"].format(score=c.score) if c.signature else ""
    rows.append((words["signature"], f"{c.signature or words['none']}{score}"))
    rows.append((words["category"], c.category))
    if texts.summary:
        rows.append((words["summary"], texts.summary))
    if len(c.candidates) > 1:
        rows.append((words["candidates"], ", ".join(f"{s} {sc:.2f}" for s, sc in c.candidates)))
    if texts.root_cause:
        rows.append((words["root_cause"], render(texts.root_cause, c.facts)))
    width = max(display_width(label) for label, _ in rows) + 2
    colon = words[":"]
    lines = [f"{pad(label + colon, width)}{value}" for label, value in rows]
    if c.facts:
        lines.append(f"{words['facts']}{colon}")
        lines += [f"  {k}: {json.dumps(v) if not isinstance(v, str) else v}" for k, v in c.facts.items()]
    for title, items in (
        (words["checks_api"], texts.next_checks_api),
        (words["checks_node"], texts.next_checks_node),
        (words["remediation"], tuple(render(r, c.facts) for r in texts.remediation)),
    ):
        if items:
            lines.append(f"{title}{colon}")
            lines += [f"  - {item}" for item in items]
    return "\n".join(lines)


@group.command(name="messages")
@click.option(
    "--input",
    "-i",
    "input_path",
    required=True,
    help='JSON lines file, one {"message": ..., "reason": ...} per line (reason optional); "-" reads stdin.',
)
@click.option(
    "-o",
    "--output",
    type=click.Choice(["json", "text"]),
    default="json",
    show_default=True,
    help="json: one result object per input line, same order (the default here, for scripts); "
    "text: a readable block per message.",
)
@click.option(
    "--input-format",
    type=click.Choice(["jsonl", "lines"]),
    default="jsonl",
    show_default=True,
    help='jsonl: one {"message": ..., "reason": ...} object per line; lines: every line is a message '
    "(raw log lines: dmesg, journalctl -k, containerd or kubelet logs), prefixes are understood.",
)
@lang_option
def messages(input_path: str, output: str, input_format: str, lang: str | None) -> None:
    """Classify failure messages offline, one result per input line in the same order.

    A line that is not a JSON object with a string "message" yields {"line": N, "error": ...}
    in its place, and so does a blank line ("empty line"). Output keys: message, reason (if
    given), category, signature, score, candidates, summary, root_cause, facts, next_checks
    (API then node), next_checks_api, next_checks_node, remediation, locale (the language of
    the texts: --lang when the signature has it, else en).
    """
    language = chosen_lang(lang)
    stream = _open_input(input_path)  # first: a bad path fails before the knowledge base loads
    kb = KnowledgeBase.default()
    try:
        _write_results(kb, stream, output, input_format == "lines", language)
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, and keep the interpreter's final
        # flush of stdout from raising again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    finally:
        if input_path != "-":
            stream.close()


def _write_results(kb: KnowledgeBase, stream: IO[str], output: str, raw_lines: bool, lang: str) -> None:
    words = LABELS[lang]
    for item in _results(kb, iter(stream), raw_lines):
        if isinstance(item, dict):
            if output == "json":
                click.echo(dumps(item))
            elif lang == "zh":
                click.echo(clean(f"{words['line']} {item['line']} 行：{words['error']}：{item['error']}\n"))
            else:
                click.echo(clean(f"line {item['line']}: error: {item['error']}\n"))
        elif output == "json":
            click.echo(dumps(_json_result(*item, lang)))
        else:
            click.echo(clean(_text_report(item[2], item[0], lang) + "\n"))


@group.command(name="message")
@click.argument("text")
@click.option(
    "--reason", "-r", default=None, help="Kubernetes reason seen with the message (e.g. FailedMount)."
)
@output_option
@lang_option
def message(text: str, reason: str | None, output: str, lang: str | None) -> None:
    """Explain one failure message: signature, category, root cause, facts, next checks.

    TEXT may be a log line with its prefix or a multi-line paste (a `kubectl describe` Events
    table): the failing line decides. "-" reads the text from stdin.
    """
    if text == "-":
        text = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace").read()
    text, reason = clean(text), None if reason is None else clean(reason)  # argv bytes not UTF-8
    if not text.strip():
        raise InputError("the message is empty; give the error text to explain")
    language = chosen_lang(lang)
    c = KnowledgeBase.default().classify(text, reason)
    if output == "json":
        click.echo(dumps(_json_result(text, reason, c, language)))
    else:
        click.echo(clean(_text_report(c, lang=language)))


def _register_pod() -> None:
    """``diagnose pod`` lives in its own module (API, node agent, rules); wired here."""
    from podsleuth.cli import diagnose_pod

    group.add_command(diagnose_pod.command)


_register_pod()
