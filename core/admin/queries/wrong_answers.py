"""Answers that look wrong: what the customer did right after one of the bot's answers, read from
the stored conversation. No thumb, no case — and still the customer was not helped.

Three signals, the first that fires naming the answer (`Signal`):

- *said it did not help*: the customer's next message opens with a "no" ("no", "nope", "wrong",
  "nein", "non", "não"…, but not "no thanks" or "no problem") or says so anywhere ("that's not
  it", "that doesn't answer my question", "didn't help", "not what I asked"…): `NOT_HELPED_OPENERS`
  and `NOT_HELPED_PHRASES`, in every shipped language at once (a reply this short is too short
  for its language to be known), apostrophes and case aside.
- *asked again*: the customer's next message asks something (`knowledge.asking.asks`) and holds at
  least half of the content words of the shorter of it and the question the answer replied to
  (stemmed, stop words aside: `knowledge.search.coverage.content_words`), and at least two of them (one
  when either holds only one): "How do I export my data?" then "how can I get my data out as a
  CSV?" shares "data" only and does not fire; "how do I export data to csv?" then "but how do I
  get the csv export?" shares "export" and "csv" and does. A follow-up on the same subject that
  is no rewording fires too: this signal says "look here", not "this was wrong".
- *left after a weak match*: the customer wrote nothing more within `RESOLUTION_WINDOW`, no other
  answer followed, and the answer's first citation (the passage it answered from) scored below
  the answer bar by `WEAK_MARGIN` or more. The score stored with a citation is the passage's
  cosine to the question (plus the exact-token boost), not the heading or question-line match
  the bar is set against, so the bar alone would flag many good answers from an FAQ's headings:
  on the sample help centre's eval sets (English, German, Spanish; 157 answers, 33 of them
  wrong) a first citation below the bar (0.55) marked 11 wrong and 33 right answers, hardly
  better than chance (21 % of the answers are wrong), and below 0.45 marked 7 wrong and 13
  right. The weakest of the three: a customer who left may well have been helped.

"Next message" is the customer's first message after the answer, when it comes within
`RESOLUTION_WINDOW` and before the bot's next answer in that conversation; what follows a later
answer is that answer's, as for the resolution rate (`core.admin.queries.satisfaction`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, String, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute, aliased

from core.admin.queries.overview import Period
from core.handoff.survey import OPEN_FOR
from core.messages import Author
from core.store.case_tables import Case
from core.store.db import Feedback, Message
from knowledge.asking import asks
from knowledge.search.coverage import content_words

RESOLUTION_WINDOW = OPEN_FOR
"""How long after an answer what the customer does counts for or against it: a day, the time a
customer takes to try what the bot said and come back (the survey's window too)."""
WEAK_MARGIN = 0.10
"""How far below the answer bar a first citation's score must be to be a weak match (module
docstring: the stored score is a passage cosine, lower than the match the bar is set against)."""

READ_CHARS = 500
"""The opening of the question and of the next message the signals read: a "no" or a question
asked again comes first, and a long email's rest would only cost time and cache memory."""
READ_CACHE = 32_768
"""Question-and-next-message pairs whose reading is kept (a month at a million messages a year
holds about 14,000; each at most two `READ_CHARS` texts)."""

NOT_HELPED_OPENERS = (
    "no",
    "nope",
    "nah",
    "wrong",
    "incorrect",
    "not really",
    "not quite",
    "nein",
    "falsch",
    "non",
    "não",
    "nao",
)
"""Words that say "that did not help" when they open the customer's next message."""
NOT_THANKS = (
    "thanks",
    "thank",
    "problem",
    "worries",
    "need",
    "that's all",
    "that's it",
    "all good",
    "i'm good",
    "nothing",
    "danke",
    "gracias",
    "merci",
    "obrigad",
)
"""What after an opener makes it an answer to "anything else?" (an LLM's answer may end with it):
"no thanks", "no problem", "nope, all good", "no, that's all"."""
NOT_HELPED_PHRASES = (
    # English
    "that's not it",
    "that is not it",
    "not what i asked",
    "not what i meant",
    "not what i'm asking",
    "not what i am asking",
    "not what i was asking",
    "not what i was looking for",
    "not my question",
    "doesn't answer my question",
    "does not answer my question",
    "didn't answer my question",
    "did not answer my question",
    "doesn't help",
    "does not help",
    "didn't help",
    "did not help",
    "not helpful",
    "unhelpful",
    "wrong answer",
    "that's wrong",
    "that is wrong",
    "you misunderstood",
    "you didn't understand",
    # German
    "das ist es nicht",
    "nicht das, was ich",
    "hilft nicht",
    "hilft mir nicht",
    "hat nicht geholfen",
    "hat mir nicht geholfen",
    "beantwortet meine frage nicht",
    "falsche antwort",
    # Spanish
    "no es eso",
    "eso no es",
    "no me ayuda",
    "no me ayudó",
    "no ayuda",
    "no responde mi pregunta",
    "no es lo que pregunté",
    "respuesta incorrecta",
    # French
    "ce n'est pas ça",
    "c'est pas ça",
    "ça ne m'aide pas",
    "ça n'aide pas",
    "pas ce que j'ai demandé",
    "ne répond pas à ma question",
    "mauvaise réponse",
    # Portuguese
    "não é isso",
    "não ajudou",
    "não me ajudou",
    "não ajuda",
    "não responde minha pergunta",
    "não é o que perguntei",
    "resposta errada",
)
"""Phrases that say "that did not help" anywhere in the customer's next message."""

_APOSTROPHES = str.maketrans({"\u2019": "", "\u2018": "", "\u02bc": "", "`": "", "\u00b4": "", "'": ""})
_PUNCTUATION = re.compile(r"[^\w\s]+")
_SPACES = re.compile(r"\s+")


def _plain(text: str) -> str:
    """Lower case, apostrophes dropped ("that's" and "thats" alike), other punctuation a space."""
    return _SPACES.sub(" ", _PUNCTUATION.sub(" ", text.casefold().translate(_APOSTROPHES))).strip()


def _alternatives(phrases: tuple[str, ...]) -> str:
    return "|".join(re.escape(_plain(phrase)) for phrase in sorted(phrases, key=len, reverse=True))


_OPENER = re.compile(rf"^(?:{_alternatives(NOT_HELPED_OPENERS)})\b(?! (?:{_alternatives(NOT_THANKS)}))")
_PHRASE = re.compile(rf"\b(?:{_alternatives(NOT_HELPED_PHRASES)})\b")


def said_not_helped(message: str) -> bool:
    """The customer's message says the answer before it did not help (module docstring)."""
    plain = _plain(message)
    return bool(_OPENER.search(plain) or _PHRASE.search(plain))


def asked_again(question: str, message: str) -> bool:
    """`message` asks about what `question` asked, in its own words (module docstring)."""
    if not asks(message):
        return False
    before, after = content_words(question), content_words(message)
    fewer = min(len(before), len(after))
    shared = len(before & after)
    return fewer > 0 and shared >= min(2, fewer) and 2 * shared >= fewer


class Signal(StrEnum):
    """Why an answer looks wrong (module docstring)."""

    SAID_NOT_HELPED = "said it did not help"
    ASKED_AGAIN = "asked again"
    LEFT_AFTER_WEAK_MATCH = "left after a weak match"


@lru_cache(maxsize=READ_CACHE)
def _read(question: str, message: str) -> Signal | None:
    """What the customer's next message says of the answer to `question`. Kept between page
    loads (a message's words never change): reading a month's follow-ups (14,000 at a million
    messages a year) takes about half a second, once."""
    if said_not_helped(message):
        return Signal.SAID_NOT_HELPED
    if asked_again(question, message):
        return Signal.ASKED_AGAIN
    return None


@dataclass(frozen=True, slots=True)
class FollowedAnswer:
    """One of the bot's answers and what came after it."""

    message_id: int
    conversation_id: str
    channel: str
    answered_at: datetime
    question: str
    """The customer message the answer replied to ("" when it is gone)."""
    score: float
    """Its first citation's score: the passage it answered from (the eval's rule too,
    `core.answering.answer_eval.outcome`)."""
    next_message: str | None
    """The customer's next message (module docstring); None when there was none."""
    followed: bool
    """Anything the customer wrote or another answer came within `RESOLUTION_WINDOW`."""
    escalated_or_down: bool
    """A case opened after it (within the window, before the next answer), or a 👎 on it."""

    def signal(self, *, bar: float) -> Signal | None:
        """The first signal that fires for it (module docstring); `bar`: the hub's answer bar."""
        if self.next_message is not None:
            return _read(self.question[:READ_CHARS], self.next_message[:READ_CHARS])
        if not self.followed and self.score < bar - WEAK_MARGIN:
            return Signal.LEFT_AFTER_WEAK_MATCH
        return None


def is_answer(message: type[Message]) -> list[ColumnElement[bool]]:
    """A bot reply that quotes the help centre: the overview's *answered* (`queries._outcome`)."""
    return [
        message.author == Author.BOT,
        message.survey.is_(None),
        ~message.declined,
        ~message.handoff,
        cast(message.citations, String) != "[]",
    ]


async def followed_answers(session: AsyncSession, period: Period) -> list[FollowedAnswer]:
    """The bot's answers in the period, oldest first, each with what came after it.

    One row per answer, with the next answer's time and the customer's next message looked up
    per answer through the indexes on (conversation, id) and (conversation, author, time), read
    on the session's connection without the ORM's row handling; so is the first case opened in
    its conversation since (the window is checked here: an `EXISTS` that named the next answer's
    time made SQLite evaluate that subquery again for each mention). The thumbs down are read
    apart. At a million messages (`tests/bench/bench_dashboard.py`'s year: about 23,000 answers
    in 30 days, a 2-core machine at load 4-5, the readings cached by `_read`) the resolution rate
    from these rows took 0.5 s on SQLite against 0.1 s for the one SQL count of unresolved
    answers it replaced, and 0.7 s on PostgreSQL 15 against 0.12 s with its JIT off — with the
    JIT on (the default) 2.3 s against 0.8 s, compiling for longer than the statements run: the
    price of reading what customers wrote."""
    answer, later, reply = (
        aliased(Message, name="answer"),
        aliased(Message, name="later"),
        aliased(Message, name="reply"),
    )
    next_answer = (
        select(func.min(later.created_at))
        .where(later.conversation_id == answer.conversation_id, later.id > answer.id, *is_answer(later))
        .correlate(answer)
        .scalar_subquery()
    )
    next_word = (
        select(func.min(reply.id))
        .where(
            reply.conversation_id == answer.conversation_id,
            reply.author == Author.CUSTOMER,
            reply.created_at >= answer.created_at,
            reply.id > answer.id,
        )
        .correlate(answer)
        .scalar_subquery()
    )
    next_case = (
        select(func.min(Case.opened_at))
        .where(Case.conversation_id == answer.conversation_id, Case.opened_at >= answer.created_at)
        .correlate(answer)
        .scalar_subquery()
    )
    conditions = [*is_answer(answer), answer.created_at >= period.since, answer.created_at < period.until]
    if period.channel is not None:
        conditions.append(answer.channel == period.channel)
    answers = (
        select(
            answer.id,
            answer.conversation_id,
            answer.channel,
            answer.created_at,
            answer.citations[(0, "score")].as_float().label("score"),
            answer.reply_to,
            next_answer.label("until"),
            next_word.label("next_word"),
            next_case.label("next_case"),
        )
        .where(*conditions)
        .subquery("answers")
    )
    question, following = aliased(Message, name="question"), aliased(Message, name="following")

    def next_words(column: QueryableAttribute[Any]) -> ScalarSelect[Any]:
        """A column of the customer's next message, looked up by its id: as a join on the
        subquery's column, PostgreSQL hashed every message to find them (0.6 s at a million)."""
        return select(column).where(following.id == answers.c.next_word).scalar_subquery()

    connection = await session.connection()
    rows = await connection.execute(
        select(
            answers.c.id,
            answers.c.conversation_id,
            answers.c.channel,
            answers.c.created_at,
            answers.c.score,
            question.text,
            next_words(following.text),
            next_words(following.created_at),
            answers.c.until,
            answers.c.next_case,
        )
        .outerjoin(question, question.id == answers.c.reply_to)
        .order_by(answers.c.created_at, answers.c.id)
    )
    voted_down = set(
        await connection.scalars(
            select(Feedback.message_id).where(Feedback.rating == "down", Feedback.created_at >= period.since)
        )
    )
    found: list[FollowedAnswer] = []
    for message_id, conversation_id, channel, at, score, asked_text, next_text, next_at, until, case_at in rows:
        window_ends = at + RESOLUTION_WINDOW if until is None else min(at + RESOLUTION_WINDOW, until)
        spoke = next_at is not None and next_at < window_ends
        found.append(
            FollowedAnswer(
                message_id=message_id,
                conversation_id=conversation_id,
                channel=channel,
                answered_at=at,
                question=asked_text or "",
                score=float(score or 0.0),
                next_message=next_text if spoke else None,
                followed=spoke or (until is not None and until < at + RESOLUTION_WINDOW),
                escalated_or_down=message_id in voted_down or (case_at is not None and case_at < window_ends),
            )
        )
    return found


@dataclass(frozen=True, slots=True)
class WrongAnswer:
    """An answer that looks wrong, as the dashboard lists it."""

    message_id: int
    conversation_id: str
    channel: str
    answered_at: datetime
    question: str
    signal: Signal
    next_message: str | None
    """What the customer wrote next, when a signal read it."""
    title: str
    """The first citation's document title, section, source and link (empty without one)."""
    section: str
    source: str
    url: str
    score: float


@dataclass(frozen=True, slots=True)
class WrongAnswers:
    answers: list[WrongAnswer]
    """The newest first, at most the limit asked for."""
    total: int
    """All of them in the period."""


async def wrong_answers(session: AsyncSession, period: Period, *, bar: float, limit: int) -> WrongAnswers:
    """The period's answers a signal fires for, the newest `limit` first, with what they cited."""
    found = [
        (answer, signal)
        for answer in reversed(await followed_answers(session, period))
        if (signal := answer.signal(bar=bar)) is not None
    ]
    shown = found[:limit]
    rows = await session.execute(
        select(Message.id, Message.citations).where(Message.id.in_([answer.message_id for answer, _ in shown]))
    )
    cited: dict[int, dict[str, Any]] = {message_id: citations[0] for message_id, citations in rows}
    return WrongAnswers(
        [
            WrongAnswer(
                message_id=answer.message_id,
                conversation_id=answer.conversation_id,
                channel=answer.channel,
                answered_at=answer.answered_at,
                question=answer.question,
                signal=signal,
                next_message=answer.next_message,
                title=str(cited[answer.message_id].get("title", "")),
                section=str(cited[answer.message_id].get("section", "")),
                source=str(cited[answer.message_id].get("source", "")),
                url=str(cited[answer.message_id].get("url", "")),
                score=answer.score,
            )
            for answer, signal in shown
        ],
        len(found),
    )
