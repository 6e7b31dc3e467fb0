"""A rehearsal drafted from what happened, for a support lead to edit: a conversation from the
dashboard ("Rehearse this" on its page), or a question the help centre could not answer (a
knowledge gap). The draft says what the bot did then, right or wrong: the lead keeps what was
right, turns what was wrong into what should happen, and puts the file in config/rehearsals/."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

import yaml

MAX_SAID = 160
"""The longest part of a reply quoted in a draft's comment."""


@dataclass(frozen=True, slots=True)
class Said:
    """One message of a conversation, as a draft reads it."""

    author: str
    """customer, bot or staff."""
    text: str
    sources: Sequence[str] = ()
    declined: bool = False
    handoff: bool = False


def from_conversation(name: str, channel: str, messages: Sequence[Said], *, handed_over: bool) -> str:
    """A rehearsal of the conversation's customer turns, each expecting what the bot's reply to
    it showed (its sources, a decline, a hand-over); `handed_over`: a case was opened."""
    turns = []
    notes = []
    for index, message in enumerate(messages):
        if message.author != "customer":
            continue
        reply = next((m for m in messages[index + 1 :] if m.author != "customer"), None)
        turns.append({"customer": message.text, "expect": _expected(reply, handed_over=handed_over)})
        notes.append(_heard(reply))
    return _document(
        [
            f"Drafted from {name}. Each `expect` says what the bot did then, right or wrong:",
            "keep what was right, write what should happen where it was wrong, and remove",
            "personal details before the file goes into config/rehearsals/.",
        ],
        {"name": name, "channel": channel, "turns": turns},
        notes,
    )


def from_question(question: str) -> str:
    """A rehearsal of a question the help centre could not answer, expecting an answer."""
    return _document(
        [
            "Drafted from a knowledge gap. Once an article answers it, name that article",
            "under `cites` (its file name) and what the answer must say under `says`.",
        ],
        {"name": f"Answers: {question[:60]}", "turns": [{"customer": question, "expect": {"declines": False}}]},
        ["the bot could not answer this from the help centre"],
    )


def _expected(reply: Said | None, *, handed_over: bool) -> dict[str, object]:
    if reply is None or reply.author != "bot":
        return {}
    if reply.declined or reply.handoff:
        expected: dict[str, object] = {"declines": True} if reply.declined else {}
        if not handed_over:  # nobody could come: the reply said where to write instead
            expected["promises_no_person"] = True
        elif not reply.declined:
            expected["hands_over"] = True
        return expected
    expected = {"declines": False}
    if sources := list(dict.fromkeys(PurePosixPath(source).name for source in reply.sources)):
        expected["cites"] = sources
    return expected


def _heard(reply: Said | None) -> str:
    if reply is None:
        return "no reply followed"
    quoted = textwrap.shorten(reply.text, MAX_SAID, placeholder=" …")
    return f"{'a person' if reply.author == 'staff' else 'the bot'} replied: {quoted}"


def _document(header: Sequence[str], rehearsal: dict[str, object], notes: Sequence[str]) -> str:
    """The YAML, with the header on top and, above each turn, what was said to it then."""
    lines = [f"# {line}" for line in header]
    written = yaml.safe_dump(rehearsal, sort_keys=False, allow_unicode=True, width=100)
    turn = 0
    for line in written.splitlines():
        if line.startswith("- customer:") or line.startswith("  - customer:"):
            indent = line[: len(line) - len(line.lstrip())]
            lines.append(f"{indent}# {notes[turn]}")
            turn += 1
        lines.append(line)
    return "\n".join(lines) + "\n"
