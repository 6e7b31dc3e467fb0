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
  (stemmed, stop words aside: `knowledge.coverage.content_words`), and at least two of them (one
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
answer is that answer's, as for the resolution rate (`core.admin.satisfaction`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute, aliased

from core.admin.queries import Period, SecondsBetween
from core.messages import Author
from core.store.db import Feedback, Message
from handoff.survey import OPEN_FOR
from handoff.tables import Case
from knowledge.asking import asks
from knowledge.coverage import content_words

RESOLUTION_WINDOW = OPEN_FOR
"""How long after an answer what the customer does counts for or against it: a day, the time a
customer takes to try what the bot said and come back (the survey's window too)."""
WEAK_MARGIN = 0.10
"""How far below the answer bar a first citation's score must be to be a weak match (module
docstring: the stored score is a passage cosine, lower than the match the bar is set against)."""

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
NOT_THANKS = ("thanks", "thank", "problem", "worries", "need", "danke", "gracias", "merci", "obrigad")
"""What after an opener makes it a courtesy: "no thanks", "no problem", "no worries"."""
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
            if said_not_helped(self.next_message):
                return Signal.SAID_NOT_HELPED
            if asked_again(self.question, self.next_message):
                return Signal.ASKED_AGAIN
            return None
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
    """The bot's answers in the period, oldest first, each with what came after it. One row per
    answer: the next answer's time and the customer's next message are looked up per answer
    through the indexes on (conversation, id) and (conversation, author, time). Read on the
    session's connection, without the ORM's row handling: at 23,000 answers (a month of a
    mid-size team) that halves the time."""
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
    conditions = [*is_answer(answer), answer.created_at >= period.since, answer.created_at < period.until]
    if period.channel is not None:
        conditions.append(answer.channel == period.channel)
    answers = (
        select(
            answer.id,
            answer.conversation_id,
            answer.channel,
            answer.created_at,
            answer.citations[0]["score"].as_float().label("score"),
            answer.reply_to,
            next_answer.label("until"),
            next_word.label("next_word"),
        )
        .where(*conditions)
        .subquery("answers")
    )

    def in_window(at: QueryableAttribute[datetime]) -> ColumnElement[bool]:
        """Within the window after the answer and before the bot's next answer."""
        return and_(
            at >= answers.c.created_at,
            SecondsBetween(at, answers.c.created_at) < RESOLUTION_WINDOW.total_seconds(),
            or_(answers.c.until.is_(None), at < answers.c.until),
        )

    question, following = aliased(Message, name="question"), aliased(Message, name="following")
    voted_down = exists().where(Feedback.message_id == answers.c.id, Feedback.rating == "down")
    case_opened = exists().where(Case.conversation_id == answers.c.conversation_id, in_window(Case.opened_at))
    connection = await session.connection()
    rows = await connection.execute(
        select(
            answers.c.id,
            answers.c.conversation_id,
            answers.c.channel,
            answers.c.created_at,
            answers.c.score,
            question.text,
            following.text,
            following.created_at,
            answers.c.until,
            or_(case_opened, voted_down),
        )
        .outerjoin(question, question.id == answers.c.reply_to)
        .outerjoin(following, following.id == answers.c.next_word)
        .order_by(answers.c.created_at, answers.c.id)
    )
    found: list[FollowedAnswer] = []
    for message_id, conversation_id, channel, at, score, asked_text, next_text, next_at, until, against in rows:
        window_ends = at + RESOLUTION_WINDOW
        spoke = next_at is not None and next_at < window_ends and (until is None or next_at < until)
        found.append(
            FollowedAnswer(
                message_id=message_id,
                conversation_id=conversation_id,
                channel=channel,
                answered_at=at,
                question=asked_text or "",
                score=float(score or 0.0),
                next_message=next_text if spoke else None,
                followed=spoke or (until is not None and until < window_ends),
                escalated_or_down=bool(against),
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
