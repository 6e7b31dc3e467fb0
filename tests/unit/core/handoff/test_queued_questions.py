"""The inbox queue's question for each case, on SQLite and PostgreSQL: what the customer asked
before the case opened, as the case's card gives it, in one query for the whole queue."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.handoff.desk_store import queued_questions
from core.store.case_tables import Case, CaseState
from core.store.db import Contact, Conversation, Message, utcnow


async def test_each_case_shows_the_question_before_it_opened_not_the_request_for_a_person(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    start = utcnow() - timedelta(hours=1)

    def said(conversation: str, minute: int, author: str, text: str, **columns: object) -> Message:
        at = start + timedelta(minutes=minute)
        return Message(conversation_id=conversation, channel="web", author=author, text=text, created_at=at, **columns)

    async with sessionmaker.begin() as session:
        session.add(Contact(id="ann"))
        session.add_all(
            Conversation(id=c, contact_id="ann", channel="web", chat_id=c) for c in ("c1", "c2", "c3", "c4")
        )
        await session.flush()
        session.add_all(
            [
                said("c1", 0, "customer", "Hi! Can I pay with bitcoin?", intent="question"),
                said("c1", 1, "bot", "I couldn't find that. Would you like a person?", declined=True),
                said("c1", 2, "customer", "yes please, I'd like to talk to a person", intent="human_request"),
                said("c1", 5, "customer", "Also, where are my invoices?", intent="question"),  # after it opened
                said("c2", 0, "customer", "Kann ich mit Bitcoin zahlen?", translation="Can I pay with bitcoin?"),
                said("c3", 0, "customer", "my invoice is wrong"),
                said("c4", 0, "customer", "Can I talk to a person about my invoice?", intent="human_request"),
            ]
        )
        session.add_all(
            Case(
                id=c,
                conversation_id=c,
                state=CaseState.WAITING,
                rule="r",
                reason="x",
                opened_at=start + timedelta(minutes=3),
            )
            for c in ("c1", "c2", "c3", "c4")
        )
    async with sessionmaker() as session:
        found = await session.run_sync(lambda sync: queued_questions(sync, ["c1", "c2", "c3", "c4"]))
    assert (found["c1"].text, found["c1"].translation) == ("Can I pay with bitcoin?", None)
    assert (found["c2"].text, found["c2"].translation) == ("Kann ich mit Bitcoin zahlen?", "Can I pay with bitcoin?")
    assert found["c3"].text == "my invoice is wrong"  # asks nothing recognisable: the latest message
    assert found["c4"].text == "Can I talk to a person about my invoice?"  # all they said was the request
