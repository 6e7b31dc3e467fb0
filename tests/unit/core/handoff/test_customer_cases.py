"""A customer's own cases as the built-in case actions see them: in a conversation several
people write in, each sees only the cases they asked in, and a note said twice is kept once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.handoff.cases import CaseOpening
from core.handoff.customer_cases import CUSTOMER_NOTE, StoredCaseBook
from core.messages import Address, InboundMessage, Reply
from core.pipeline.storage import Storage
from core.pipeline.turn_transactions import TurnResult
from core.store.case_tables import CaseEvent
from core.store.db import Message
from core.store.inbox import PendingMessage
from core.store.transactions import Transactions

pytestmark = pytest.mark.postgres

GROUP = Address("telegram", "group-7")


async def say(storage: Storage, transactions: Transactions, sender: str, text: str, *, escalate: bool = False) -> str:
    """`sender` writes in the group and the bot answers (or hands over); the writer's contact id."""
    receipt = await storage.inbox.save(
        InboundMessage(GROUP, f"{sender}-{text}", sender, text), lease=timedelta(seconds=30)
    )
    pending = PendingMessage(receipt.message_id, receipt.conversation_id, text, GROUP)
    opening = CaseOpening("human_request", "The customer asked for a person.") if escalate else None
    result = TurnResult(signals=None, reply=Reply("Here you go."), escalation=opening)
    assert await storage.turns.finish(pending, result, push=False) is not None
    contact: str = await transactions.run(
        lambda session: session.scalar(select(Message.contact_id).where(Message.id == receipt.message_id))
    )
    return contact


async def test_in_a_group_each_person_sees_only_the_cases_they_asked_in(
    storage: Storage, transactions: Transactions
) -> None:
    ada = await say(storage, transactions, "ada", "hello all")
    bob = await say(storage, transactions, "bob", "my invoice is wrong, I want a person", escalate=True)
    book = StoredCaseBook(transactions)
    [case] = await book.cases_of(bob)
    assert case.state == "waiting" and case.about == "my invoice is wrong, I want a person"
    assert await book.cases_of(ada) == []
    assert await book.add_note(ada, "ada's note") is None


async def test_a_note_said_twice_is_added_once(storage: Storage, transactions: Transactions) -> None:
    bob = await say(storage, transactions, "bob", "I want a person", escalate=True)
    book = StoredCaseBook(transactions)
    first = await book.add_note(bob, "the order was 12345")
    again = await book.add_note(bob, "the order was 12345")
    assert first is not None and again == first
    notes = await transactions.run(
        lambda session: session.scalar(select(func.count()).where(CaseEvent.actor == CUSTOMER_NOTE))
    )
    assert notes == 1
