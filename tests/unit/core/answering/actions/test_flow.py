"""The turn's flow around an action's question: an answer that comes too late is not taken."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.action_settings import ActionSettings
from core.answering.actions.calls import CallRecord
from core.answering.actions.flow import PENDING_FOR, Actions
from core.turn_context import PendingAction, TurnContext, VerifiedIdentity


class Recorded:
    """The store's side of actions, kept in memory: an identity and the audit trail."""

    def __init__(self) -> None:
        self.calls: list[CallRecord] = []

    async def identity_of(self, contact_id: str) -> VerifiedIdentity:
        return VerifiedIdentity(email="ada@example.com")

    async def audit(self, call: CallRecord) -> None:
        self.calls.append(call)


def _actions(ports: Recorded) -> Actions:
    settings = ActionSettings(
        allowed_hosts=["shop.example.com"],
        declared={
            "cancel_subscription": {
                "description": "Cancel the subscription",
                "method": "POST",
                "url": "https://shop.example.com/cancel",
                "body": {"email": "{contact.email}"},
                "writes": True,
            }
        },
    )
    return Actions(settings, ports=ports, cases=None, encode=None)


async def test_a_yes_long_after_the_question_confirms_nothing() -> None:
    ports = Recorded()
    asked = PendingAction(
        "cancel_subscription",
        {},
        awaiting=None,
        asked_at=datetime.now(UTC) - PENDING_FOR - timedelta(minutes=1),
        contact_id="c1",
    )
    context = TurnContext(message_id=1, text="yes", contact_id="c1", conversation_id="v1", pending=asked)
    assert await _actions(ports).resume(context) is None
    assert ports.calls == []


async def test_a_no_in_time_declines_and_is_audited() -> None:
    ports = Recorded()
    asked = PendingAction(
        "cancel_subscription", {}, awaiting=None, asked_at=datetime.now(UTC) - timedelta(minutes=5), contact_id="c1"
    )
    context = TurnContext(message_id=1, text="no thanks", contact_id="c1", conversation_id="v1", pending=asked)
    turn = await _actions(ports).resume(context)
    assert turn is not None and turn.reply.text == "OK, I haven't done anything." and turn.pending is None
    assert [(call.action, call.outcome) for call in ports.calls] == [("cancel_subscription", "declined")]


def test_a_pending_action_survives_its_round_trip_through_the_database() -> None:
    asked = PendingAction(
        "order_status", {"order_number": "12345"}, awaiting="order_number", asked_at=datetime.now(UTC), contact_id="c1"
    )
    assert PendingAction.from_json(asked.to_json()) == asked
    assert PendingAction.from_json('{"action": 1}') is None


async def test_only_the_person_asked_answers_in_a_conversation_several_write_in() -> None:
    ports = Recorded()
    asked = PendingAction("cancel_subscription", {}, awaiting=None, asked_at=datetime.now(UTC), contact_id="ada")
    someone_else = TurnContext(message_id=2, text="yes", contact_id="bob", conversation_id="group", pending=asked)
    assert await _actions(ports).resume(someone_else) is None
    assert ports.calls == []
