"""Cases as a state machine, stored: every change recorded with who and when, the
conversation's state following, moves the machine does not allow refused."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.messages import Address, InboundMessage, Reply
from core.store import Store
from core.turn_transactions import PendingMessage, TurnResult
from handoff.cases import CaseOpening, CaseState, CaseTransitionError

pytestmark = pytest.mark.postgres


async def escalated(store: Store) -> tuple[str, str]:
    """A conversation whose message escalated: (conversation id, case id)."""
    address = Address("api", "carol")
    receipt = await store.save_inbound(InboundMessage(address, "m1", "carol", "I want a human"), lease=timedelta(seconds=30))
    pending = PendingMessage(receipt.message_id, receipt.conversation_id, "I want a human", address)
    result = TurnResult(signals=None, reply=Reply("A person will follow up.", handoff=True),
                        escalation=CaseOpening("human_request", "The customer asked for a person.", 0.1))
    finished = await store.finish_turn(pending, result, push=False)
    assert finished is not None and finished.case_id is not None
    return receipt.conversation_id, finished.case_id


async def test_claim_then_return_to_the_bot_is_recorded_step_by_step(store: Store) -> None:
    conversation_id, case_id = await escalated(store)
    assert (await store.conversation_overview(conversation_id)).state == "waiting"  # type: ignore[union-attr]
    claimed = await store.move_case(case_id, to=CaseState.HUMAN, actor="U-staff-1")
    assert claimed.state == "human" and claimed.owner == "U-staff-1"
    assert (await store.conversation_overview(conversation_id)).state == "human"  # type: ignore[union-attr]
    await store.move_case(case_id, to=CaseState.RETURNED, actor="U-staff-1", note="refund issued")
    assert (await store.conversation_overview(conversation_id)).state == "bot"  # type: ignore[union-attr]
    events = await store.case_events(case_id)
    assert [(e.from_state, e.to_state, e.actor) for e in events] == [
        (None, "waiting", "bot"), ("waiting", "human", "U-staff-1"), ("human", "returned", "U-staff-1")
    ]
    assert events[0].note == "The customer asked for a person." and events[2].note == "refund issued"
    assert events[0].at <= events[1].at <= events[2].at


async def test_a_closed_case_cannot_be_claimed(store: Store) -> None:
    _, case_id = await escalated(store)
    await store.move_case(case_id, to=CaseState.CLOSED, actor="U-staff-2")
    with pytest.raises(CaseTransitionError, match="a closed case cannot become human"):
        await store.move_case(case_id, to=CaseState.HUMAN, actor="U-staff-3")
    with pytest.raises(CaseTransitionError, match="no case"):
        await store.move_case("nope", to=CaseState.HUMAN, actor="U-staff-3")
