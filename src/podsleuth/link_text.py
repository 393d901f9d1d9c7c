"""How a cause and its victims are said in one line, in every language (docs/diagnosis.md).

``caused by <incident> (<pod> OOM-killed)`` on a victim, ``victims: 3 pods: ...`` on a cause.
Alerts and the CLI's text views both say it; the alert side works on its own typed view of the
diagnosis (``alert.model``) and may not import the diagnose package, so the wording lives in
this foundation module and takes anything with the fields of ``diagnose.diagnosis.CausedBy``
and ``Victims`` (structural typing).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

CAUSE_WORDS = {"en": {"oom-killed": "OOM-killed"}, "zh": {"oom-killed": "被 OOM 终止"}}
"""What happened to a culprit pod (``caused_by.cause``), per language; an unknown id shows as is."""
LINK_WORDS = {
    "en": {"caused_by": "caused by {what} ({subject}{cause}{resolved})", "resolved": ", resolved",
           "victims": "victims: {n} pod{s}: {pods}", "more": " and {n} more", "sep": ", "},
    "zh": {"caused_by": "起因：{what}（{subject}{cause}{resolved}）", "resolved": "，已恢复",
           "victims": "受影响：{n} 个 Pod：{pods}", "more": " 等另 {n} 个", "sep": "、"},
}  # fmt: skip
VICTIMS_SHOWN = 5


class Cause(Protocol):
    @property
    def incident(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def cause(self) -> str: ...
    @property
    def resolved(self) -> bool: ...


class Victimized(Protocol):
    @property
    def pods(self) -> Sequence[str]: ...


def link_lines(caused_by: Cause | None, victims: Victimized | None, lang: str = "en") -> tuple[str, str]:
    """The victim's "caused by" line and the cause's "victims" line; "" for what is absent."""
    w = LINK_WORDS.get(lang, LINK_WORDS["en"])
    caused = ""
    if caused_by is not None and caused_by.subject:
        c = caused_by
        cause = CAUSE_WORDS.get(lang, CAUSE_WORDS["en"]).get(c.cause, c.cause)
        caused = w["caused_by"].format(
            what=c.incident or c.subject, subject=f"{c.subject} " if c.incident else "", cause=cause,
            resolved=w["resolved"] if c.resolved else "",
        )  # fmt: skip
    listed_victims = ""
    if victims is not None and victims.pods:
        pods = list(victims.pods)
        listed = w["sep"].join(pods[:VICTIMS_SHOWN])
        if len(pods) > VICTIMS_SHOWN:
            listed += w["more"].format(n=len(pods) - VICTIMS_SHOWN)
        listed_victims = w["victims"].format(n=len(pods), s="s" if len(pods) != 1 else "", pods=listed)
    return caused, listed_victims
