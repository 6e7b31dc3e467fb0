"""An action's question waits on the conversation only when the customer was sent it: not once
a person has the conversation, nor when the turn handed it over; the next turn clears it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core.handoff.cases import CaseOpening
from core.messages import Address, InboundMessage, Reply
from core.pipeline.storage import Storage
from core.pipeline.turn_transactions import TurnResult
from core.store.db import Conversation, ConversationState
from core.store.inbox import PendingMessage
from core.store.transactions import Transactions
from core.turn_context import PendingAction

pytestmark = pytest.mark.postgres

CHAT = Address("api", "ada")
ASKED = PendingAction("cancel_subscription", {}, awaiting=None, contact_id="ada")


async def turn(storage: Storage, text: str, **result: object) -> PendingMessage:
    receipt = await storage.inbox.save(InboundMessage(CHAT, text, "ada", text), lease=timedelta(seconds=30))
    pending = PendingMessage(receipt.message_id, receipt.conversation_id, text, CHAT)
    await storage.turns.finish(pending, TurnResult(signals=None, reply=Reply("ok"), **result), push=False)  # type: ignore[arg-type]
    return pending


async def waiting(transactions: Transactions, conversation_id: str) -> PendingAction | None:
    stored = await transactions.run(
        lambda session: session.scalar(select(Conversation.pending_action).where(Conversation.id == conversation_id))
    )
    return PendingAction.from_json(stored)


async def test_a_question_sent_waits_and_the_next_turn_clears_it(storage: Storage, transactions: Transactions) -> None:
    first = await turn(storage, "cancel my subscription", pending=ASKED)
    assert await waiting(transactions, first.conversation_id) == ASKED
    await turn(storage, "what are your opening hours?", had_pending=True)
    assert await waiting(transactions, first.conversation_id) is None


async def test_no_question_waits_once_a_person_has_the_conversation(
    storage: Storage, transactions: Transactions
) -> None:
    first = await turn(storage, "hello")
    await transactions.run(
        lambda session: session.execute(
            update(Conversation).where(Conversation.id == first.conversation_id).values(state=ConversationState.HUMAN)
        )
    )
    await turn(storage, "cancel my subscription", pending=ASKED)
    assert await waiting(transactions, first.conversation_id) is None


async def test_no_question_waits_when_the_turn_hands_over(storage: Storage, transactions: Transactions) -> None:
    opening = CaseOpening("agent", "The model asked for a person.")
    first = await turn(storage, "cancel my subscription and I want a person", pending=ASKED, escalation=opening)
    assert await waiting(transactions, first.conversation_id) is None
