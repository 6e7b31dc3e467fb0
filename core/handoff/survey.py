"""The satisfaction survey: when a person resolves a case, the customer is asked one question in
their own channel — how did we do, from 1 (bad) to 5 (great) — and their answer is kept with the
case and credited to the person who had it (`core.store.case_tables.CaseRating`).

The question is stored and queued in the transaction that resolves the case, right after the
customer is told so (`core.handoff.desk_store.act_on_case`), and delivered by the outbox like any
message: nothing lost, nothing sent twice. It is answered either with the buttons the widget
and Slack show under it (`SurveyStore.answer`), or on any channel by replying with the digit
(`answered_by`, which the turn asks before the bot reads the message): the digit must be the
customer's very next message after the question. Anything else they write is answered as
usual and lets the survey lapse for typing (the buttons stay usable while it is open: a click
cannot be mistaken for anything else), and a second digit is an ordinary message. A survey is
answered once, whichever way comes first (a conditional update, `record`).

Why 1 to 5: one digit is the shortest answer every channel carries (an SMS keypad, an email
reply, a Telegram message); it is the scale customers know from satisfaction surveys; and it
gives both an average and the usual *satisfied* share (a 4 or a 5) without asking for words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from core.channel import RatingResult
from core.languages import N_
from core.messages import SURVEY_SCORES, Address, Author
from core.store.case_tables import CaseRating
from core.store.contacts import conversation_at
from core.store.db import Message, utcnow
from core.store.transactions import Transactions

QUESTION = N_("How did we do? Reply with a number from 1 (bad) to 5 (great).")
"""Asked after the resolved notice. Words every channel shows alike (GSM-7 for SMS): the widget
and Slack add buttons, and a typed digit works everywhere."""
THANKS = N_("Thank you for your rating!")
"""The reply to a score typed as a digit (the buttons show their own thanks in place)."""
OPEN_FOR = timedelta(hours=24)
"""How long a survey can be answered. A customer told their case is resolved answers within
minutes if they answer at all, or when they next read their messages: an email or an SMS read
the next morning. A day covers that; later, a lone digit is more likely about something else
(a quantity, a choice in a new conversation) than a late rating. It is also the resolution
rate's window (`core.admin.queries.satisfaction`)."""
SATISFIED = 4
"""A score from here up counts as satisfied (4 or 5), as satisfaction surveys usually count it."""
_SCORE = re.compile(r"([1-5])(?:\s*/\s*5)?\s*[.!]?")


@dataclass(frozen=True, slots=True)
class SurveyAnswer:
    """A score typed as a reply to an open survey (the turn stores it with its thanks)."""

    survey_id: int
    score: int


def score_of(text: str) -> int | None:
    """The score a message gives when it is nothing but one ("4", "4.", "5!", "3/5"); else None."""
    found = _SCORE.fullmatch(text.strip())
    return int(found.group(1)) if found else None


def answered_by(session: Session, *, conversation_id: str, message_id: int, now: datetime) -> int | None:
    """The survey a customer message holding a score answers: the conversation's latest survey,
    if it is open (unanswered, asked within `OPEN_FOR`) and the message is the customer's first
    since its question. None: the message is an ordinary one."""
    survey = session.execute(
        select(CaseRating.id, CaseRating.message_id, CaseRating.answered_at, CaseRating.asked_at)
        .where(CaseRating.conversation_id == conversation_id, CaseRating.message_id < message_id)
        .order_by(CaseRating.message_id.desc())
        .limit(1)
    ).one_or_none()
    if survey is None or survey.answered_at is not None or survey.asked_at <= now - OPEN_FOR:
        return None  # (only the latest survey counts: an earlier one lapsed when it was asked)
    wrote_since = session.execute(
        select(
            exists().where(
                Message.conversation_id == conversation_id,
                Message.author == Author.CUSTOMER,
                Message.id > survey.message_id,
                Message.id < message_id,
            )
        )
    ).scalar_one()
    return None if wrote_since else int(survey.id)


def record(session: Session, *, survey_id: int, score: int, comment: str | None, now: datetime) -> bool:
    """Keep a survey's answer unless it has one already; whether this one was kept."""
    if score not in SURVEY_SCORES:
        raise ValueError(f"a score is one of {SURVEY_SCORES}, not {score!r}")
    kept = session.execute(
        update(CaseRating)
        .where(CaseRating.id == survey_id, CaseRating.answered_at.is_(None))
        .values(score=score, comment=comment, answered_at=now)
    )
    return bool(kept.rowcount == 1)  # type: ignore[attr-defined]


class SurveyStore:
    """Scores given with the buttons under a survey question (the widget's, Slack's)."""

    def __init__(self, transactions: Transactions) -> None:
        self._run = transactions.run

    async def answer(
        self, message_id: int, *, score: int, address: Address, comment: str | None = None
    ) -> RatingResult:
        """Answer the survey asked with message `message_id` in the conversation at `address`.
        The buttons stay usable while the survey is open, whatever the customer wrote since."""
        return await self._run(
            partial(_answer, message_id=message_id, score=score, address=address, comment=comment, now=utcnow())
        )


def _answer(
    session: Session, *, message_id: int, score: int, address: Address, comment: str | None, now: datetime
) -> RatingResult:
    survey = session.execute(
        select(CaseRating.id, CaseRating.conversation_id, CaseRating.asked_at, CaseRating.answered_at).where(
            CaseRating.message_id == message_id
        )
    ).one_or_none()
    if survey is None or conversation_at(session, address) != survey.conversation_id:
        return RatingResult.NOT_FOUND
    if survey.answered_at is not None or survey.asked_at <= now - OPEN_FOR:
        return RatingResult.CLOSED
    kept = record(session, survey_id=survey.id, score=score, comment=comment, now=now)
    return RatingResult.SAVED if kept else RatingResult.CLOSED
