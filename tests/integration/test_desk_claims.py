"""The staff desk shared by several hub processes, its posts delivered by the outbox: each
case's card is posted once (its outbox row claimed first), a card or a customer line posted by
a process that died before recording it is found on the desk rather than posted again, work
for a case closed before it was posted is dropped, and an overdue case is reminded once
however many processes run the SLA job. Two "processes" here are two engines (two connection
pools) and two Slack adapters over one database and one fake Slack."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

from channels.slack.channel import SlackChannel
from channels.slack.settings import SlackSettings
from channels.slack.stand_in import BOT_TOKEN, FakeSlack, RecordedCall
from core.desk_port import CaseAction, CaseCard
from core.handoff.cases import CaseOpening
from core.handoff.desk import StaffDesk
from core.handoff.desk_store import STILL_WITH_US, act_on_case, card_of, desk_ref_of
from core.handoff.hours import Sla
from core.messages import Address, InboundMessage, Reply
from core.pipeline.hub_gate import HubGate
from core.pipeline.outbox import Outbox
from core.pipeline.storage import Storage
from core.pipeline.turn_transactions import TurnResult
from core.settings import OutboxSettings, Settings
from core.store.case_tables import Case
from core.store.db import DESK, DeliveryStatus, Message, OutboxItem, make_engine, make_sessionmaker
from core.store.inbox import PendingMessage
from core.store.outbox_queue import Lane
from core.store.transactions import Transactions, transactions_for
from tests.integration.staff_desk_steps import SLACK_SECRET, STAFF

pytestmark = pytest.mark.postgres

CASES = 6
SLA = Sla(timedelta(minutes=30))


@pytest.fixture
async def other_transactions(database_url: str, engine: AsyncEngine) -> AsyncIterator[Transactions]:
    """A second process's transactions: its own engine on the database `engine` prepared."""
    other = make_engine(database_url)
    transactions = transactions_for(other, make_sessionmaker(other))
    yield transactions
    await transactions.close()
    await other.dispose()


def slack_adapter(slack: FakeSlack, tmp_path: Path) -> SlackChannel:
    """One process's Slack adapter, pointed at the shared fake Slack."""
    return SlackChannel(
        Settings(
            data_dir=tmp_path,
            slack=SlackSettings(
                bot_token=SecretStr(BOT_TOKEN),
                signing_secret=SecretStr(SLACK_SECRET),
                api_url=slack.base_url,
                staff_channel=STAFF,
            ),
        ),
        HubGate().port,
    )


class DeskProcess:
    """One process's staff desk: its own Slack adapter, and the outbox that delivers the desk's
    rows, over its own transactions."""

    def __init__(self, transactions: Transactions, slack: FakeSlack, tmp_path: Path) -> None:
        self.storage = Storage.on(transactions)
        self.desk = StaffDesk(
            transactions=transactions,
            port=slack_adapter(slack, tmp_path),
            note_prefix="note:",
            push=frozenset(),
            sla=SLA,
        )
        self.outbox = Outbox(self.storage.outbox, {}, OutboxSettings(), self.desk)

    async def sweep(self) -> None:
        """What the hub's sweep does for the desk: deliver every case's due desk work."""
        for conversation_id, lane in await self.storage.outbox.due_lanes([DESK]):
            await self.outbox.deliver_conversation(conversation_id, lane)


async def escalated(storage: Storage, contact: str) -> str:
    """A conversation whose message escalated; its case id."""
    address = Address("api", contact)
    receipt = await storage.inbox.save(
        InboundMessage(address, f"{contact}-1", contact, "I want a human"), lease=timedelta(seconds=30)
    )
    pending = PendingMessage(receipt.message_id, receipt.conversation_id, "I want a human", address)
    result = TurnResult(
        signals=None,
        reply=Reply("A person will follow up.", handoff=True),
        escalation=CaseOpening("human_request", "The customer asked for a person."),
    )
    finished = await storage.turns.finish(pending, result, push=False)
    assert finished is not None and finished.case_id is not None
    return finished.case_id


async def open_cases(storage: Storage, count: int) -> list[str]:
    return [await escalated(storage, f"customer-{n}") for n in range(count)]


def cards_of(slack: FakeSlack, case_id: str) -> list[RecordedCall]:
    """The cards posted to the staff channel for `case_id`, found by the metadata they carry."""
    return [
        c
        for c in slack.requests
        if c.method == "chat.postMessage"
        and c.response["ok"]
        and c.body.get("channel") == STAFF
        and not c.body.get("thread_ts")
        and (c.body.get("metadata") or {}).get("event_payload", {}).get("case_id") == case_id
    ]


def in_thread(slack: FakeSlack, desk_ref: str, text_start: str) -> list[RecordedCall]:
    return [
        c
        for c in slack.requests
        if c.method == "chat.postMessage"
        and c.body.get("thread_ts") == desk_ref
        and str(c.body.get("text", "")).startswith(text_start)
    ]


def claim_given_up(session: Session, *, conversation_id: str) -> None:
    """What a process that died mid-post leaves: a claimed desk row, its lease run out."""
    session.execute(
        update(OutboxItem)
        .where(OutboxItem.conversation_id == conversation_id, OutboxItem.channel == DESK)
        .values(claimed_until=datetime.now(UTC) - timedelta(seconds=1))
    )


def due_now(session: Session) -> None:
    """Bring every pending row's retry forward: the next sweep tries it."""
    session.execute(
        update(OutboxItem).where(OutboxItem.status == DeliveryStatus.PENDING).values(next_attempt_at=datetime.now(UTC))
    )


def still_with_us_by_conversation(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(Message.conversation_id, func.count())
        .where(Message.text == STILL_WITH_US)
        .group_by(Message.conversation_id)
    ).all()
    return dict(rows)


def card_for(session: Session, *, case_id: str) -> CaseCard:
    case = session.get(Case, case_id)
    assert case is not None
    return card_of(session, case)


def conversation_of(session: Session, *, case_id: str) -> str:
    case = session.get(Case, case_id)
    assert case is not None
    return case.conversation_id


def desk_rows(session: Session) -> dict[str, int]:
    """The desk's outbox rows by status."""
    rows = session.execute(
        select(OutboxItem.status, func.count()).where(OutboxItem.channel == DESK).group_by(OutboxItem.status)
    )
    return {status: count for status, count in rows}


async def customer_writes(storage: Storage, contact: str, text: str) -> None:
    """The customer of an escalated conversation writes again: the bot stays quiet and the
    message is queued for the case's thread."""
    address = Address("api", contact)
    receipt = await storage.inbox.save(
        InboundMessage(address, f"{contact}-{text}", contact, text), lease=timedelta(seconds=30)
    )
    pending = PendingMessage(receipt.message_id, receipt.conversation_id, text, address)
    finished = await storage.turns.finish(pending, TurnResult(signals=None, reply=None), push=False)
    assert finished is not None and finished.to_desk


async def test_two_processes_sweeping_at_once_post_each_new_case_card_once(
    storage: Storage,
    transactions: Transactions,
    other_transactions: Transactions,
    slack: FakeSlack,
    tmp_path: Path,
) -> None:
    case_ids = await open_cases(storage, CASES)
    a, b = DeskProcess(transactions, slack, tmp_path), DeskProcess(other_transactions, slack, tmp_path)

    await asyncio.gather(a.sweep(), b.sweep())

    for case_id in case_ids:
        (card,) = cards_of(slack, case_id)
        assert await transactions.run(partial(desk_ref_of, case_id=case_id)) == card.response["ts"]
    assert await transactions.run(desk_rows) == {DeliveryStatus.SENT: CASES}
    await asyncio.gather(a.sweep(), b.sweep())  # and a later sweep posts nothing more
    assert slack.received_request_count("chat.postMessage") == CASES


async def test_a_card_posted_before_a_process_died_is_recorded_and_an_unposted_one_is_posted_once(
    storage: Storage, transactions: Transactions, slack: FakeSlack, tmp_path: Path
) -> None:
    posted_case, unposted_case = await open_cases(storage, 2)
    for case_id in (posted_case, unposted_case):  # a process claimed both cards' rows …
        conversation_id = await transactions.run(partial(conversation_of, case_id=case_id))
        assert await storage.outbox.claim_next(conversation_id, lane=Lane.DESK, lease=timedelta(minutes=1))
        await transactions.run(partial(claim_given_up, conversation_id=conversation_id))
    card = await transactions.run(partial(card_for, case_id=posted_case))
    posted_ts = await slack_adapter(slack, tmp_path).post_case(card)  # … posted one, and died

    await DeskProcess(transactions, slack, tmp_path).sweep()

    assert slack.received_request_count("conversations.history") == 2  # both attempts were looked for
    assert [c.response["ts"] for c in cards_of(slack, posted_case)] == [posted_ts]
    assert await transactions.run(partial(desk_ref_of, case_id=posted_case)) == posted_ts
    (card_posted_now,) = cards_of(slack, unposted_case)
    assert await transactions.run(partial(desk_ref_of, case_id=unposted_case)) == card_posted_now.response["ts"]


async def test_a_card_whose_post_failed_is_posted_once_by_the_next_attempt(
    storage: Storage,
    transactions: Transactions,
    other_transactions: Transactions,
    slack: FakeSlack,
    tmp_path: Path,
) -> None:
    (case_id,) = await open_cases(storage, 1)
    slack.fail_next("chat.postMessage", status=500)
    await DeskProcess(transactions, slack, tmp_path).sweep()
    assert await transactions.run(partial(desk_ref_of, case_id=case_id)) is None
    assert await transactions.run(desk_rows) == {DeliveryStatus.PENDING: 1}  # kept for a retry

    await transactions.run(due_now)
    await DeskProcess(other_transactions, slack, tmp_path).sweep()

    assert slack.received_request_count("conversations.history") == 1  # looked for the failed attempt's card
    (card,) = cards_of(slack, case_id)
    assert await transactions.run(partial(desk_ref_of, case_id=case_id)) == card.response["ts"]


async def test_a_customer_line_posted_before_a_process_died_is_not_posted_again(
    storage: Storage, transactions: Transactions, slack: FakeSlack, tmp_path: Path
) -> None:
    (case_id,) = await open_cases(storage, 1)
    process = DeskProcess(transactions, slack, tmp_path)
    await process.sweep()
    desk_ref = await transactions.run(partial(desk_ref_of, case_id=case_id))
    assert desk_ref is not None
    conversation_id = await transactions.run(partial(conversation_of, case_id=case_id))
    for text in ("It still fails.", "Error 503 every time."):
        await customer_writes(storage, "customer-0", text)
    due = await storage.outbox.claim_next(conversation_id, lane=Lane.DESK, lease=timedelta(minutes=1))
    assert due is not None and due.message.text == "It still fails."
    await process.desk.deliver(due)  # posted, and the process died before recording it
    await transactions.run(partial(claim_given_up, conversation_id=conversation_id))

    await process.sweep()

    assert slack.received_request_count("conversations.replies") == 1  # looked for the unrecorded line
    assert [c.body["text"] for c in in_thread(slack, desk_ref, "*Customer:*")] == [
        "*Customer:* It still fails.",
        "*Customer:* Error 503 every time.",
    ]
    assert await transactions.run(desk_rows) == {DeliveryStatus.SENT: 3}


async def test_work_for_a_case_closed_before_the_desk_posted_it_is_dropped(
    storage: Storage, transactions: Transactions, slack: FakeSlack, tmp_path: Path
) -> None:
    (case_id,) = await open_cases(storage, 1)
    await transactions.run(
        partial(act_on_case, case_id=case_id, action=CaseAction.RESOLVE, actor="U0SAM", push=frozenset())
    )

    await DeskProcess(transactions, slack, tmp_path).sweep()

    assert cards_of(slack, case_id) == []
    assert await transactions.run(desk_rows) == {DeliveryStatus.DROPPED: 1}


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_two_processes_reminding_at_once_remind_each_overdue_case_once(
    storage: Storage,
    transactions: Transactions,
    other_transactions: Transactions,
    slack: FakeSlack,
    tmp_path: Path,
) -> None:
    case_ids = await open_cases(storage, CASES)
    a, b = DeskProcess(transactions, slack, tmp_path), DeskProcess(other_transactions, slack, tmp_path)
    await a.sweep()
    later = datetime.now(UTC) + SLA.length + timedelta(minutes=1)

    reminded: list[Any] = [
        case
        for overdue in await asyncio.gather(a.desk.remind_overdue(now=later), b.desk.remind_overdue(now=later))
        for case in overdue
    ]
    await asyncio.gather(a.sweep(), b.sweep())

    assert sorted(case.case_id for case in reminded) == sorted(case_ids)
    conversations = [await transactions.run(partial(conversation_of, case_id=case_id)) for case_id in case_ids]
    assert await transactions.run(still_with_us_by_conversation) == dict.fromkeys(conversations, 1)
    for case_id in case_ids:
        desk_ref = await transactions.run(partial(desk_ref_of, case_id=case_id))
        assert desk_ref is not None and len(in_thread(slack, desk_ref, "Reminder:")) == 1
