"""What one customer turn of a rehearsal produced, and what of its `Expect` does not hold.

Pure: the runner gathers a `TurnOutcome` from the throwaway hub; here each expectation is a
plain comparison, and a failure is one sentence a support lead can read beside the reply.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from core.rehearsals.script import Expect

_SPACE = re.compile(r"\s+")
_MARKUP = re.compile(r"[*`]|^>\s?", re.MULTILINE)
"""Emphasis, code and quote marks: a lead writes the text, the reply is markdown."""


@dataclass(frozen=True, slots=True)
class TurnOutcome:
    reply: str | None
    """The reply's text; None when the bot stayed silent (a person has the conversation)."""
    sources: tuple[str, ...] = ()
    declined: bool = False
    """The reply could not answer from the help centre (the hub's handoff flag, with no case)."""
    case_reason: str | None = None
    """The reason of a case this turn opened; None when none opened."""
    language: str | None = None
    """The language the reply is written in, as the hub's detector reads its own words
    (`own_words`)."""
    facts: Mapping[str, str] = field(default_factory=dict)
    calls: Sequence[tuple[str, str]] = ()
    """(action, what the stand-in received: URL and body) of each action called in the turn."""
    asked_first: bool = False
    """An action waits for the customer's yes."""
    reach: tuple[str, ...] = ()
    """The ways to reach the team the operator gave (email, phone): said instead of a person."""


def own_words(reply: str) -> str:
    """What the hub wrote itself: the reply without the lines it quotes (a passage, a table row),
    which stay in the help centre's language. The language a reply is written in is read from
    these (a Spanish decline quoting an English article is Spanish); the whole reply when it is
    all quote."""
    kept = [line for line in reply.splitlines() if not line.lstrip().startswith((">", "|"))]
    return "\n".join(kept) if any(line.strip() for line in kept) else reply


def _plain(text: str) -> str:
    return _SPACE.sub(" ", _MARKUP.sub("", text)).strip().casefold()


def failures(expect: Expect, outcome: TurnOutcome) -> list[str]:
    """Each expectation that does not hold, as a sentence; [] when the turn passed."""
    said = _plain(outcome.reply or "")
    found: list[str] = []
    if outcome.reply is None and (expect.says or expect.cites or expect.language):
        return ["the bot did not reply (a person has the conversation)"]
    found += [f"does not say {text!r}" for text in expect.says if _plain(text) not in said]
    found += [f"says {text!r}" for text in expect.does_not_say if _plain(text) in said]
    for source in expect.cites:
        if not any(cited == source or cited.endswith(f"/{source.lstrip('/')}") for cited in outcome.sources):
            found.append(f"does not cite {source} (cites: {', '.join(outcome.sources) or 'nothing'})")
    if expect.declines is not None and expect.declines != outcome.declined:
        if not expect.declines:
            found.append("declines instead of answering")
        else:
            found.append("hands over instead of declining" if outcome.case_reason else "answers instead of declining")
    if expect.hands_over is not None:
        found += _handover(expect.hands_over, outcome.case_reason)
    if expect.promises_no_person:
        if outcome.case_reason is not None:
            found.append(f"hands over to a person ({outcome.case_reason})")
        elif outcome.reach and not any(_plain(way) in said for way in outcome.reach):
            found.append(f"does not say where to reach the team ({' or '.join(outcome.reach)})")
    if expect.language is not None and outcome.language != expect.language:
        found.append(f"answers in {outcome.language or 'an unknown language'}, not {expect.language}")
    for key, value in expect.remembers.items():
        kept = outcome.facts.get(key)
        if kept is None or _plain(value) not in _plain(kept):
            found.append(f"does not remember {key} = {value!r} (kept: {kept!r})")
    if expect.calls is not None:
        found += _call(expect.calls.action, expect.calls.with_, outcome.calls)
    if expect.asks_first is not None and expect.asks_first != outcome.asked_first:
        found.append("does not ask before calling the action" if expect.asks_first else "asks for a confirmation")
    return found


def _handover(expected: bool | str, reason: str | None) -> list[str]:
    if expected is False:
        return [] if reason is None else [f"hands over to a person ({reason})"]
    if reason is None:
        return ["does not hand over to a person"]
    if isinstance(expected, str) and _plain(expected) not in _plain(reason):
        return [f"hands over for another reason: {reason!r}"]
    return []


def _call(action: str, values: Mapping[str, str], calls: Sequence[tuple[str, str]]) -> list[str]:
    received = [sent for name, sent in calls if name == action]
    if not received:
        made = ", ".join(name for name, _ in calls) or "none"
        return [f"does not call {action} (called: {made})"]
    missing = [f"{key} = {value!r}" for key, value in values.items() if not any(value in sent for sent in received)]
    return [f"calls {action} without {', '.join(missing)}"] if missing else []
