"""Cases as a state machine, stored: every change recorded with who and when, the
conversation's state following, moves the machine does not allow refused."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.handoff.cases import CaseOpening, CaseTransitionError, move_case
from core.messages import Address, InboundMessage, Reply
from core.pipeline.storage import Storage
from core.pipeline.turn_transactions import TurnResult
from core.store.case_tables import CaseEvent, CaseState
from core.store.inbox import PendingMessage
from core.store.transactions import Transactions

pytestmark = pytest.mark.postgres


async def escalated(storage: Storage) -> tuple[str, str]:
    """A conversation whose message escalated: (conversation id, case id)."""
    address = Address("api", "carol")
    receipt = await storage.inbox.save(
        InboundMessage(address, "m1", "carol", "I want a human"), lease=timedelta(seconds=30)
    )
    pending = PendingMessage(receipt.message_id, receipt.conversation_id, "I want a human", address)
    result = TurnResult(
        signals=None,
        reply=Reply("A person will follow up.", handoff=True),
        escalation=CaseOpening("human_request", "The customer asked for a person.", 0.1),
    )
    finished = await storage.turns.finish(pending, result, push=False)
    assert finished is not None and finished.case_id is not None
    return receipt.conversation_id, finished.case_id


def events_of(session: Session, *, case_id: str) -> list[CaseEvent]:
    return list(session.execute(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)).scalars())


async def state_of(storage: Storage, conversation_id: str) -> str:
    overview = await storage.views.overview(conversation_id)
    assert overview is not None
    return overview.state


async def test_claim_then_return_to_the_bot_is_recorded_step_by_step(
    storage: Storage, transactions: Transactions
) -> None:
    conversation_id, case_id = await escalated(storage)
    assert await state_of(storage, conversation_id) == "waiting"
    claimed = await transactions.run(partial(move_case, case_id=case_id, to=CaseState.HUMAN, actor="U-staff-1"))
    assert claimed.state == "human" and claimed.owner == "U-staff-1"
    assert await state_of(storage, conversation_id) == "human"
    await transactions.run(
        partial(move_case, case_id=case_id, to=CaseState.RETURNED, actor="U-staff-1", note="refund issued")
    )
    assert await state_of(storage, conversation_id) == "bot"
    events = await transactions.run(partial(events_of, case_id=case_id))
    assert [(e.from_state, e.to_state, e.actor) for e in events] == [
        (None, "waiting", "bot"),
        ("waiting", "human", "U-staff-1"),
        ("human", "returned", "U-staff-1"),
    ]
    assert events[0].note == "The customer asked for a person." and events[2].note == "refund issued"
    assert events[0].at <= events[1].at <= events[2].at


async def test_a_closed_case_cannot_be_claimed(storage: Storage, transactions: Transactions) -> None:
    conversation_id, case_id = await escalated(storage)
    await transactions.run(partial(move_case, case_id=case_id, to=CaseState.CLOSED, actor="U-staff-2"))
    assert await state_of(storage, conversation_id) == "bot"  # resolved: the bot has it, and says so
    with pytest.raises(CaseTransitionError, match="a closed case cannot become human"):
        await transactions.run(partial(move_case, case_id=case_id, to=CaseState.HUMAN, actor="U-staff-3"))
    with pytest.raises(CaseTransitionError, match="no case"):
        await transactions.run(partial(move_case, case_id="nope", to=CaseState.HUMAN, actor="U-staff-3"))
