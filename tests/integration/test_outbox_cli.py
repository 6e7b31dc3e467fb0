"""`supporthub outbox` as an operator runs it, on both backends: dead letters made by the real
outbox, listed, refused when they are not dead, re-queued one and all, then delivered by the
outbox's next sweep."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.channel import CustomerUnreachable, DeliveryRefused
from core.messages import Address, InboundMessage
from core.pipeline.outbox import Outbox
from core.pipeline.storage import Storage
from core.settings import OutboxSettings
from core.store.db import OutboxItem
from tests.fakes.flaky_channel import FlakyChannel
from tests.integration.test_cli import run
from tests.unit.core.pipeline.test_outbox import LEASE, queue_replies

pytestmark = pytest.mark.postgres

TEXTS = {
    "c-timeout": "Your refund is on its way.",
    "c-refused": "Here is the whole price list.",
    "c-blocked": "Your invoice is attached.",
    "c-stopped": "Your order has shipped.",
    "c-retrying": "We are looking into it.",
    "c-sent": "Thanks for writing!",
}
TERMINAL_WIDTH = 200
Rows = dict[str, tuple[int, str, int]]
"""Outbox rows by chat: (id, status, attempts)."""


async def send_once(storage: Storage, chat: str, channel: FlakyChannel, *, max_attempts: int = 8) -> None:
    """Queue the chat's reply and let the real outbox try to send it once through `channel`."""
    conversation_id = await queue_replies(storage, [TEXTS[chat]], chat=chat)
    outbox = Outbox(storage.outbox, {"flaky": channel}, OutboxSettings(max_attempts=max_attempts))
    await outbox.deliver_conversation(conversation_id)


async def make_outbox(storage: Storage) -> None:
    """Four dead letters (failed too often; refused; the customer blocked us; the number said
    STOP), one reply waiting five minutes for its retry, and one delivered."""
    timing_out = FlakyChannel()
    timing_out.failures_left = 1
    await send_once(storage, "c-timeout", timing_out, max_attempts=1)
    refusing = FlakyChannel()
    refusing.refusal = DeliveryRefused("Bad Request: message is too long\n  (5,210 characters, the limit is 4,096)")
    await send_once(storage, "c-refused", refusing)
    blocking = FlakyChannel()
    blocking.refusal = CustomerUnreachable("Forbidden: bot was blocked by the user")
    await send_once(storage, "c-blocked", blocking)
    await storage.channel_state.set_opted_out(Address("flaky", "c-stopped"), True)
    await send_once(storage, "c-stopped", FlakyChannel())
    retrying = FlakyChannel()
    retrying.failures_left, retrying.retry_after = 1, 300.0
    await send_once(storage, "c-retrying", retrying)
    await send_once(storage, "c-sent", FlakyChannel())


async def outbox_rows(sessionmaker: async_sessionmaker[AsyncSession]) -> Rows:
    async with sessionmaker() as session:
        rows = await session.execute(select(OutboxItem.chat_id, OutboxItem.id, OutboxItem.status, OutboxItem.attempts))
        return {row.chat_id: (row.id, row.status, row.attempts) for row in rows}


async def sweep(storage: Storage) -> list[str]:
    """What a hub's next sweep sends: every due reply on the channel, through the real outbox."""
    channel = FlakyChannel()
    outbox = Outbox(storage.outbox, {"flaky": channel}, OutboxSettings())
    for conversation_id, lane in await storage.outbox.due_lanes(["flaky"]):
        await outbox.deliver_conversation(conversation_id, lane)
    return sorted(message.text for _, message in channel.delivered)


Command = Callable[..., Awaitable[Result]]


def warnings_in(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("warning: outbox item")]


@pytest.fixture
def supporthub_outbox(database_url: str, tmp_path: Path) -> Command:
    """`supporthub outbox ARGS…` on the test's database, in a thread (the command runs its own
    event loop)."""

    async def outbox(*args: str) -> Result:
        return await asyncio.to_thread(
            run, "outbox", *args, data_dir=tmp_path, SUPPORTHUB_DATABASE_URL=database_url, COLUMNS=str(TERMINAL_WIDTH)
        )

    return outbox


async def test_lists_undelivered_replies_and_refuses_to_requeue_what_is_not_dead(
    storage: Storage, sessionmaker: async_sessionmaker[AsyncSession], supporthub_outbox: Command
) -> None:
    outbox = supporthub_outbox
    await make_outbox(storage)
    rows = await outbox_rows(sessionmaker)
    assert {chat: status for chat, (_, status, _) in rows.items()} == {
        "c-timeout": "dead",
        "c-refused": "dead",
        "c-blocked": "dead",
        "c-stopped": "dead",
        "c-retrying": "pending",
        "c-sent": "sent",
    }

    listed = await outbox()
    assert listed.exit_code == 0, listed.stderr
    header, *lines, summary = listed.stdout.splitlines()
    assert header.split() == [
        "id",
        "status",
        "channel",
        "conversation",
        "attempts",
        "age",
        "next",
        "try",
        "last",
        "error",
    ]
    by_id = {int(line.split()[0]): line for line in lines}
    assert all(len(line) <= TERMINAL_WIDTH for line in lines)
    assert sorted(by_id) == sorted(rows[chat][0] for chat in rows if chat != "c-sent")
    refused = by_id[rows["c-refused"][0]].split()
    assert refused[1:3] == ["dead", "flaky"] and refused[4:7] == ["1", "0", "min"] and refused[7] == "-"
    assert by_id[rows["c-refused"][0]].endswith(
        "DeliveryRefused: Bad Request: message is too long (5,210 characters, the limit is 4,096)"
    )
    assert "unreachable: the customer opted out (STOP)" in by_id[rows["c-stopped"][0]]
    waiting = by_id[rows["c-retrying"][0]]
    assert (
        " pending " in waiting and ("in 4 min" in waiting or "in 5 min" in waiting) and "platform said 429" in waiting
    )
    assert summary.startswith("1 pending, 4 dead — re-queue with `supporthub outbox --retry ID` or `--retry-all`")

    as_json = json.loads((await outbox("--dead", "--json")).stdout)
    assert (as_json["pending"], as_json["dead"]) == (0, 4)
    assert [reply["id"] for reply in as_json["replies"]] == sorted(
        rows[chat][0] for chat in ("c-timeout", "c-refused", "c-blocked", "c-stopped")
    )
    assert {reply["status"] for reply in as_json["replies"]} == {"dead"}
    assert as_json["replies"][0]["last_error"] == "DeliveryError: platform said 429"
    assert as_json["replies"][0]["next_attempt_at"] is None

    first_two = await outbox("--dead", "--limit", "2")
    assert len(first_two.stdout.splitlines()) == 4
    assert first_two.stdout.splitlines()[-1].startswith("4 dead (the 2 oldest shown; --limit shows more)")

    for outbox_id, sentence in (
        (9999, "there is no outbox item 9999"),
        (rows["c-sent"][0], f"outbox item {rows['c-sent'][0]} was delivered already"),
        (rows["c-retrying"][0], f"outbox item {rows['c-retrying'][0]} is not dead but still pending"),
    ):
        refusal = await outbox("--retry", str(outbox_id))
        assert refusal.exit_code == 1 and sentence in refusal.stderr, refusal.stderr
        assert "Traceback" not in refusal.stderr
    assert await outbox_rows(sessionmaker) == rows  # nothing changed


async def test_requeued_dead_letters_are_delivered_by_the_next_sweep(
    storage: Storage, sessionmaker: async_sessionmaker[AsyncSession], supporthub_outbox: Command
) -> None:
    outbox = supporthub_outbox
    await make_outbox(storage)
    rows = await outbox_rows(sessionmaker)
    timeout_id, blocked_id, stopped_id = (rows[chat][0] for chat in ("c-timeout", "c-blocked", "c-stopped"))

    one = await outbox("--retry", str(timeout_id))
    assert one.exit_code == 0, one.stderr
    assert f"re-queued 1 reply ({timeout_id})" in one.stdout and "on its next sweep" in one.stdout
    assert warnings_in(one) == []
    assert await sweep(storage) == [TEXTS["c-timeout"]]

    everything = await outbox("--retry-all")
    assert everything.exit_code == 0, everything.stderr
    assert "re-queued 3 replies" in everything.stdout
    warnings = warnings_in(everything)
    assert len(warnings) == 2 and all("dead-lettered again unless the customer writes first" in w for w in warnings)
    assert f"outbox item {blocked_id} " in warnings[0] and "bot was blocked by the user" in warnings[0]
    assert f"outbox item {stopped_id} " in warnings[1] and "opted out (STOP)" in warnings[1]
    assert await sweep(storage) == [TEXTS["c-refused"]]
    after = await outbox_rows(sessionmaker)
    assert after["c-blocked"][1:] == ("dead", 1) and after["c-stopped"][1:] == ("dead", 1)  # tried again, not sent

    await storage.inbox.save(
        InboundMessage(Address("flaky", "c-blocked"), "c-blocked-back", "c-blocked", "hello?"), lease=LEASE
    )
    await storage.channel_state.set_opted_out(Address("flaky", "c-stopped"), False)
    again = await outbox("--retry-all", "--json")
    assert again.exit_code == 0 and warnings_in(again) == []
    requeued = json.loads(again.stdout)["requeued"]
    assert [(item["id"], item["channel"], item["unreachable"]) for item in requeued] == [
        (blocked_id, "flaky", None),
        (stopped_id, "flaky", None),
    ]
    assert await sweep(storage) == sorted([TEXTS["c-blocked"], TEXTS["c-stopped"]])
    assert (await outbox_rows(sessionmaker))["c-stopped"][1] == "sent"
