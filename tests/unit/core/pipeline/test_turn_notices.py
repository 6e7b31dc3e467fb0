"""What a customer who asks for a person is told, with the clock frozen: in business hours a
person follows up; out of them, when the team is back; without a staff desk, where to reach the
team (and out of hours, when it is back), after the answer."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from core.answering.attachments import AttachmentReader
from core.answering.sentiment import SentimentAnalyzer
from core.messages import Address, InboundMessage
from core.pipeline.hub import Hub
from core.pipeline.staffing import Staffing
from core.pipeline.storage import Storage
from core.pipeline.turn_runner import DECLINED_HANDOFF, HANDOFF_NOTICE, TurnRunner, out_of_hours
from core.rate_limits import RateLimits
from core.settings import HandoffSettings, HoursSettings, Settings
from tests.fakes.flaky_channel import FlakyChannel
from tests.unit.core.pipeline.test_hub import ScriptedAgent

pytestmark = pytest.mark.postgres

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = dict.fromkeys(("monday", "tuesday", "wednesday", "thursday", "friday"), "09:00-17:30")
SETTINGS = Settings(handoff=HandoffSettings(hours=HoursSettings(timezone="Europe/Berlin", **WEEKDAYS)))
FRIDAY_EVENING = datetime(2025, 10, 24, 18, 5, tzinfo=BERLIN)
TUESDAY_NOON = datetime(2025, 10, 28, 12, 0, tzinfo=BERLIN)


async def handed_over(storage: Storage, *, now: datetime, staffed: bool) -> str:
    """What the hub replies, at `now`, to a customer asking for a person (the agent answers
    "An answer to: …")."""
    channel = FlakyChannel()
    turns = TurnRunner(
        transactions=storage.turns,
        agent=ScriptedAgent(),
        analyzer=SentimentAnalyzer(SETTINGS.sentiment),
        reader=AttachmentReader(SETTINGS.attachments),
        settings=SETTINGS,
        staffing=Staffing(desk=staffed, inbox=None),
        clock=lambda: now,
    )
    hub = Hub(
        storage=storage,
        agent=ScriptedAgent(),
        turns=turns,
        channels={channel.name: channel},
        settings=SETTINGS,
        limits=RateLimits(per_contact="", per_ip=""),
    )
    receipt = await hub.receive(
        InboundMessage(Address("flaky", "olga"), external_id="m1", sender_id="olga", text="I want to talk to a human")
    )
    reply = await hub.wait_for_reply(receipt.message_id, timeout=10)
    await hub.stop()
    assert reply is not None and reply.handoff
    return reply.text


async def test_out_of_hours_the_customer_is_told_when_the_team_is_back(storage: Storage) -> None:
    assert await handed_over(storage, now=FRIDAY_EVENING, staffed=True) == (
        "I've passed this conversation to a person from our support team. "
        "Our team is back Monday at 09:00 CET; they'll reply here then."
    )


async def test_in_hours_a_person_follows_up(storage: Storage) -> None:
    assert await handed_over(storage, now=TUESDAY_NOON, staffed=True) == HANDOFF_NOTICE


async def test_without_a_staff_desk_the_answer_says_where_to_reach_the_team_and_when_it_is_back(
    storage: Storage,
) -> None:
    assert await handed_over(storage, now=FRIDAY_EVENING, staffed=False) == (
        "An answer to: I want to talk to a human\n\nI can't bring in a person in this chat. "
        "You can reach our support team at support@brightdesk.example or +1 555 0100. "
        "Our team is back Monday at 09:00 CET."
    )


def test_a_declined_question_handed_over_out_of_hours_says_when_too() -> None:
    assert out_of_hours(DECLINED_HANDOFF, "tomorrow at 09:00 CET") == (
        "I couldn't find this in our help centre, so I've passed your question to a person from our support "
        "team. Our team is back tomorrow at 09:00 CET; they'll reply here then."
    )
