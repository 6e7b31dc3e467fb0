"""When the bot should hand a conversation to a person: a pure function of the conversation.

`decide` looks only at the tail of the conversation after the last staff message (a person
was already involved, so every streak starts again) and returns the first rule that
fires, in this order:

1. the newest customer message asks for a person (`Intent.HUMAN_REQUEST`);
2. it mentions a configured keyword (whole words, case-insensitive: "legal" matches
   "legal team" but not "illegally");
3. its frustration reaches `frustration_threshold`;
4. the most recent `frustrated_in_row` customer messages each reach `frustrated_level`
   (bot replies between them do not break the streak);
5. the most recent `unanswered_in_row` bot replies were all declined (the knowledge base
   had nothing; customer messages between them do not break the streak);
6. the assistant itself asked for a person (`agent_request`).

Customer messages without signals count as calm: no intent, no frustration.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from core.messages import Author
from core.settings import HandoffSettings
from core.turn_context import Intent, PastMessage


class Rule(StrEnum):
    HUMAN_REQUEST = "human_request"
    KEYWORD = "keyword"
    FRUSTRATION = "frustration"
    FRUSTRATED_STREAK = "frustrated_streak"
    UNANSWERED = "unanswered"
    AGENT = "agent"


@dataclass(frozen=True, slots=True)
class Escalation:
    rule: Rule
    reason: str
    """One readable sentence for staff, naming the figure or word that tipped it."""


def decide(
    history: Sequence[PastMessage], *, settings: HandoffSettings, agent_request: str | None = None
) -> Escalation | None:
    """Whether to escalate, and why; None to let the bot carry on.

    `history` is the conversation oldest first, ending with the newest customer message
    (before the bot answers) or with the bot's draft reply to it (after). `agent_request`
    is the assistant's own reason for asking for a person, if it asked.
    """
    tail = _since_staff(history)
    customer = [message for message in tail if message.author is Author.CUSTOMER]
    bot = [message for message in tail if message.author is Author.BOT]
    escalation = _about_newest(customer[-1], settings) if customer else None
    if escalation is not None:
        return escalation
    frustrated = _streak(_frustration(message) >= settings.frustrated_level for message in reversed(customer))
    if frustrated >= settings.frustrated_in_row:
        return Escalation(Rule.FRUSTRATED_STREAK, f"{_count(frustrated, 'frustrated message')} in a row.")
    unanswered = _streak(message.declined for message in reversed(bot))
    if unanswered >= settings.unanswered_in_row:
        return Escalation(
            Rule.UNANSWERED, f"{_count(unanswered, 'question')} in a row the help centre could not answer."
        )
    if agent_request is not None:
        reason = agent_request.strip() or "no reason given."
        return Escalation(Rule.AGENT, f"The assistant asked for a person: {reason}")
    return None


def _about_newest(message: PastMessage, settings: HandoffSettings) -> Escalation | None:
    """The rules that one customer message can trip on its own."""
    signals = message.signals
    if signals is not None and signals.intent is Intent.HUMAN_REQUEST:
        return Escalation(Rule.HUMAN_REQUEST, "The customer asked for a person.")
    if _any_of(tuple(settings.keywords)).search(message.text) is not None:
        keyword = next(keyword for keyword in settings.keywords if _mentions(message.text, keyword))
        return Escalation(Rule.KEYWORD, f"The message mentions '{keyword}'.")
    if signals is not None and signals.frustration >= settings.frustration_threshold:
        return Escalation(
            Rule.FRUSTRATION,
            f"Frustration {signals.frustration:.2f} is over the {settings.frustration_threshold:.2f} threshold.",
        )
    return None


def _frustration(message: PastMessage) -> float:
    return message.signals.frustration if message.signals is not None else 0.0


def _since_staff(history: Sequence[PastMessage]) -> Sequence[PastMessage]:
    for index in range(len(history) - 1, -1, -1):
        if history[index].author is Author.STAFF:
            return history[index + 1 :]
    return history


def _streak(flags: Iterable[bool]) -> int:
    """How many flags hold before the first that does not."""
    count = 0
    for flag in flags:
        if not flag:
            break
        count += 1
    return count


def _mentions(text: str, keyword: str) -> bool:
    """Whole words, any whitespace between the words of a phrase ("data  breach")."""
    return _any_of((keyword,)).search(text) is not None


@cache
def _any_of(keywords: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern matching any of `keywords` as whole words, any whitespace between a phrase's
    words, compiled once per list: a message is searched once rather than once per keyword
    (every customer message is)."""
    bodies = [r"\s+".join(re.escape(word) for word in keyword.split()) for keyword in keywords]
    alternatives = "|".join(body for body in bodies if body) or r"(?!x)x"
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
