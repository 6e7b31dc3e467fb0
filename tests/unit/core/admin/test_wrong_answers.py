"""Answers that look wrong: the signals read from what the customer wrote next, and the answers
they fire for on seeded conversations, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.admin.queries.overview import Period
from core.admin.queries.satisfaction import Resolution, resolution
from core.admin.queries.wrong_answers import Signal, asked_again, said_not_helped, wrong_answers
from core.store.db import Contact, Conversation, Feedback, Message

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
WEEK = Period(since=T0 - timedelta(days=1), until=T0 + timedelta(days=6))
BAR = 0.55


def cited(score: float) -> list[dict[str, object]]:
    return [
        {"source": "export.md", "title": "Exporting", "section": "CSV", "score": score, "url": ""},
        {"source": "billing.md", "title": "Billing", "section": "Plans", "score": score - 0.1, "url": ""},
    ]


@pytest.mark.parametrize(
    "message",
    [
        "that's not it",
        "That’s not it.",
        "thats not it",
        "No",
        "no.",
        "Nope, I meant the invoices",
        "Wrong!",
        "Not really.",
        "Incorrect",
        "wrong answer, sorry",
        "it didn't help",
        "That doesn't answer my question",
        "this did not help at all",
        "Not what I asked",
        "Das hat mir nicht geholfen",
        "Nein, ich meine die Rechnungen",
        "No es eso",
        "Ce n'est pas ça",
        "não ajudou",
    ],
)
def test_a_next_message_that_says_the_answer_did_not_help(message: str) -> None:
    assert said_not_helped(message)


@pytest.mark.parametrize(
    "message",
    [
        "no thanks, that's all",
        "No problem!",
        "No worries, got it",
        "No, that's all. Thanks!",
        "nope, all good",
        "thanks, that worked",
        "How do I know if it's done?",
        "I have no invoices yet",
        "Nothing else, bye",
        "nobody told me that, great",
    ],
)
def test_a_next_message_that_says_nothing_against_the_answer(message: str) -> None:
    assert not said_not_helped(message)


@pytest.mark.parametrize(
    ("question", "again", "expected"),
    [
        ("How do I export data to CSV?", "but how do I get the CSV export?", True),
        ("How do I export my data?", "How do I export data???", True),
        ("Refunds?", "refund?", True),
        ("How do I export data to CSV?", "can I export the data to Excel too?", True),  # a follow-up fires too
        ("How do I export my data?", "how can I get my data out as a CSV?", False),  # shares "data" only
        ("How do I export data to CSV?", "thanks, the CSV export worked", False),  # asks nothing
        ("How do I export data to CSV?", "How do I change my plan?", False),
    ],
)
def test_asking_again_is_a_question_holding_half_the_words_of_the_first(
    question: str, again: str, expected: bool
) -> None:
    assert asked_again(question, again) is expected


@pytest.fixture
async def seeded(sessionmaker: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """Seven answers, each with what its customer did next (in the comments)."""
    async with sessionmaker.begin() as session:
        session.add(Contact(id="c1"))
        conversations = ["no", "again", "weak", "fine", "late", "down"]
        for name in conversations:
            channel = "telegram" if name == "weak" else "web"
            session.add(Conversation(id=name, contact_id="c1", channel=channel, chat_id=name))
        await session.flush()
        at = T0

        def message(conversation: str, author: str, text: str, **fields: object) -> Message:
            nonlocal at
            at += timedelta(minutes=1)
            channel = "telegram" if conversation == "weak" else "web"
            row = Message(
                conversation_id=conversation, channel=channel, author=author, text=text, created_at=at, **fields
            )
            session.add(row)
            return row

        async def exchange(conversation: str, question: str, *, score: float = 0.7) -> Message:
            asked = message(conversation, "customer", question)
            await session.flush()
            return message(conversation, "bot", "Here is how.", citations=cited(score), reply_to=asked.id)

        await exchange("no", "How do I export my data?")  # then "that's not it"
        message("no", "customer", "that's not it")
        message("no", "bot", "Sorry, I could not find that.", declined=True)
        await exchange("again", "How do I export data to CSV?")  # then asked again, answered
        await exchange("again", "but how do I get the CSV export?")  # then nothing: left
        await exchange("weak", "Can I pay in bitcoin?", score=0.3)  # then nothing, a weak match
        await exchange("fine", "How do I change my plan?")
        message("fine", "customer", "thanks!")
        await exchange("late", "Do you keep backups?")  # then a "no" two days later: too late
        at += timedelta(days=2)
        message("late", "customer", "no")
        down = await exchange("down", "What does the Pro plan cost?")  # 👎 and "wrong"
        message("down", "customer", "wrong, that's the old price")
        await session.flush()
        session.add(Feedback(message_id=down.id, rating="down", created_at=at))
    return sessionmaker


@pytest.mark.postgres
async def test_answers_followed_by_a_no_a_rewording_or_silence_after_a_weak_match_look_wrong(
    seeded: async_sessionmaker[AsyncSession],
) -> None:
    async with seeded() as session:
        wrong = await wrong_answers(session, WEEK, bar=BAR, limit=3)
        rate = await resolution(session, WEEK, bar=BAR)
        telegram = await resolution(session, Period(WEEK.since, WEEK.until, channel="telegram"), bar=BAR)
    assert [(a.conversation_id, a.question, a.signal, a.next_message) for a in wrong.answers] == [
        ("down", "What does the Pro plan cost?", Signal.SAID_NOT_HELPED, "wrong, that's the old price"),
        ("weak", "Can I pay in bitcoin?", Signal.LEFT_AFTER_WEAK_MATCH, None),
        ("again", "How do I export data to CSV?", Signal.ASKED_AGAIN, "but how do I get the CSV export?"),
    ]
    assert wrong.total == 4  # and "no", the oldest, past the limit
    assert (wrong.answers[0].source, wrong.answers[0].title, wrong.answers[0].section) == (
        "export.md",
        "Exporting",
        "CSV",
    )
    # resolved: the second "again" answer and "late" (both left without a word), "fine"
    assert rate == Resolution(answers=7, resolved=3, looks_wrong=4, escalated_or_down=0, left_silent=2, rate=3 / 7)
    assert telegram == Resolution(answers=1, resolved=0, looks_wrong=1, escalated_or_down=0, left_silent=0, rate=0.0)


@pytest.mark.postgres
async def test_a_weak_match_is_measured_against_the_hubs_bar(seeded: async_sessionmaker[AsyncSession]) -> None:
    async with seeded() as session:
        low = await wrong_answers(session, WEEK, bar=0.35, limit=10)
        high = await wrong_answers(session, WEEK, bar=0.9, limit=10)
    assert low.total == 3  # 0.3 is no weak match at a bar of 0.35
    assert high.total == 6  # at 0.9, 0.7 is: "late" and the reworded answer
