"""The hub pipeline: receive → persist → answer in conversation order → deliver.

`receive()` returns as soon as the message is stored, so a channel can acknowledge its
platform fast. The message is stored already claimed by this process for a short lease and
answered by a per-conversation worker. If the process dies first, the lease runs out and the
sweep (here, or in any other hub process) claims and answers it; undelivered replies are
picked up the same way. The database's conditional updates make every answer happen once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from core.agent import Agent
from core.channel import Channel, StreamingChannel
from core.messages import Address, InboundMessage, Reply, StoredMessage
from core.outbox import Outbox
from core.settings import Settings
from core.store import ConversationOverview, FeedbackResult, PendingMessage, Receipt, Store
from core.streaming import StreamEvent, StreamSink
from core.turn_transactions import FinishedTurn, TurnResult
from core.turn_runner import TurnRunner
from handoff.cases import CaseOpening
from handoff.desk import StaffDesk
from handoff.desk_store import Action
from knowledge.hits import Hit

log = logging.getLogger(__name__)

ANSWER_LEASE = timedelta(seconds=15)
REPLY_POLL_S = 0.2
ANSWER_ATTEMPTS = 3
APOLOGY = (
    "Sorry, something went wrong on our side while answering. "
    "A person from our support team will follow up here."
)


class Hub:
    def __init__(
        self,
        *,
        store: Store,
        agent: Agent,
        turns: TurnRunner,
        channels: Mapping[str, Channel],
        settings: Settings,
        desk: StaffDesk | None = None,
    ) -> None:
        self._store = store
        self._agent = agent
        self._turns = turns
        self._desk = desk
        self._desk_sync: asyncio.Task[None] | None = None
        self._channels = channels
        self._settings = settings
        self._outbox = Outbox(store, channels, settings.outbox)
        self._queues: dict[str, deque[PendingMessage]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._in_hand: set[int] = set()
        self._replies: dict[int, asyncio.Future[StoredMessage | None]] = {}
        self._sweeper: asyncio.Task[None] | None = None

    # -- what channels call --------------------------------------------------------------

    async def receive(self, message: InboundMessage) -> Receipt:
        """Store a customer message (idempotent on channel + external id) and queue its answer."""
        if message.address.channel not in self._channels:
            raise ValueError(f"channel {message.address.channel!r} is not enabled")
        receipt = await self._store.save_inbound(message, lease=ANSWER_LEASE)
        if not receipt.duplicate:
            self._replies[receipt.message_id] = asyncio.get_running_loop().create_future()
            self._enqueue(PendingMessage(receipt.message_id, receipt.conversation_id, message.text, message.address))
        return receipt

    async def wait_for_reply(self, message_id: int, *, timeout: float) -> StoredMessage | None:
        """The bot's answer to an inbound message, waiting up to `timeout` seconds for it; None
        when there is none yet, or none coming (a person has the conversation)."""
        future = self._replies.get(message_id)
        if future is not None:  # being answered here
            try:
                return await asyncio.wait_for(asyncio.shield(future), timeout)
            except TimeoutError:
                return None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (stored := await self._store.reply_to(message_id)) is None and loop.time() < deadline:
            await asyncio.sleep(REPLY_POLL_S)  # answered earlier, or by another process
        return stored

    # -- what the staff desk's channel calls ------------------------------------------------

    async def staff_message(self, *, desk_ref: str, actor: str, text: str) -> None:
        """A person wrote in a case thread (a reply, a note or a command)."""
        if self._desk is not None:
            relayed = await self._desk.staff_message(desk_ref=desk_ref, actor=actor, text=text)
            if relayed is not None:
                await self._deliver_to(relayed.conversation_id, relayed.channel)

    async def staff_action(self, *, case_id: str, action: str, actor: str) -> None:
        """A person pressed Claim, Resolve or Return to bot on a case card."""
        if self._desk is not None:
            relayed = await self._desk.act(case_id=case_id, action=Action(action), actor=actor)
            if relayed is not None:
                await self._deliver_to(relayed.conversation_id, relayed.channel)

    async def remind_overdue_cases(self, *, now: datetime | None = None) -> int:
        """The SLA job: remind staff of unanswered cases and tell their customers; how many."""
        if self._desk is None:
            return 0
        overdue = await self._desk.remind_overdue(sla=timedelta(minutes=self._settings.handoff.sla_minutes), now=now)
        for case in overdue:
            await self._deliver_to(case.conversation_id, case.channel)
        return len(overdue)

    async def _deliver_to(self, conversation_id: str, channel_name: str) -> None:
        channel = self._channels.get(channel_name)
        if channel is not None and channel.capabilities.push:
            await self._outbox.deliver_conversation(conversation_id)

    def _sync_desk_soon(self) -> None:
        """Post a new case's card or mirror a message without holding up the answer."""
        if self._desk is not None and (self._desk_sync is None or self._desk_sync.done()):
            self._desk_sync = asyncio.create_task(self._sync_desk(), name="desk-sync")

    async def _sync_desk(self) -> None:
        if self._desk is None:
            return
        try:
            await self._desk.sync()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("hub: the staff desk could not sync; the sweep tries again")

    async def has_conversation(self, address: Address) -> bool:
        """Whether a conversation lives at `address` (a Slack thread the bot is part of)."""
        return await self._store.conversation_at(address) is not None

    async def answered(self, message_id: int) -> bool:
        """Whether the turn of a customer message is over; with no reply to it, a person has
        the conversation."""
        return await self._store.is_answered(message_id)

    async def feedback(
        self, message_id: int, *, rating: str, comment: str | None = None, address: Address | None = None
    ) -> FeedbackResult:
        """A thumbs up/down on a bot reply; with `address`, only a reply in that conversation."""
        return await self._store.save_feedback(message_id, rating=rating, comment=comment, address=address)

    async def history(self, address: Address, *, after: int = 0, limit: int = 200) -> list[StoredMessage]:
        return await self._store.history(address, after=after, limit=limit)

    async def conversation_overview(self, conversation_id: str) -> ConversationOverview | None:
        return await self._store.conversation_overview(conversation_id)

    async def conversation_messages(
        self, conversation_id: str, *, after: int = 0, limit: int = 200
    ) -> list[StoredMessage] | None:
        return await self._store.conversation_messages(conversation_id, after=after, limit=limit)

    async def search(self, query: str, k: int) -> list[Hit]:
        return await self._agent.search(query, k)

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Answer and deliver what a previous run left behind, then keep sweeping."""
        await self._sweep()
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="hub-sweeper")

    async def stop(self) -> None:
        tasks = [t for t in (self._sweeper, self._desk_sync, *self._workers.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._workers.clear()
        self._queues.clear()

    async def _sweep(self) -> None:
        """Only this hub's channels: a `supporthub ask` beside a running server must not take
        the server's work (nor fail to deliver it)."""
        for conversation_id in await self._store.conversations_with_pending(self._channels.keys()):
            for pending in await self._store.claim_pending(conversation_id, lease=ANSWER_LEASE):
                if pending.id not in self._in_hand:
                    self._enqueue(pending)
        for conversation_id in await self._store.conversations_with_due_deliveries(self._channels.keys()):
            await self._outbox.deliver_conversation(conversation_id)
        await self._sync_desk()

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._settings.outbox.poll_interval_s)
            try:
                await self._sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("hub: sweep failed; trying again")

    # -- answering -----------------------------------------------------------------------

    def _enqueue(self, pending: PendingMessage) -> None:
        """One worker per conversation drains its queue: answers stay in order."""
        self._in_hand.add(pending.id)
        self._queues.setdefault(pending.conversation_id, deque()).append(pending)
        if pending.conversation_id not in self._workers:
            self._workers[pending.conversation_id] = asyncio.create_task(
                self._work(pending.conversation_id), name=f"conversation-{pending.conversation_id}"
            )

    async def _work(self, conversation_id: str) -> None:
        queue = self._queues[conversation_id]
        try:
            while queue:
                pending = queue[0]
                await self._answer_or_apologise(pending)
                queue.popleft()
                self._in_hand.discard(pending.id)
                self._replies.pop(pending.id, None)
        finally:
            self._workers.pop(conversation_id, None)
            if not queue:
                self._queues.pop(conversation_id, None)

    async def _answer_or_apologise(self, pending: PendingMessage) -> None:
        """Never leave a customer without a reply: after repeated failures to answer, say
        sorry and offer a person. If even that cannot be stored, the sweep tries again."""
        channel = self._channel_for(pending)
        if channel is None:
            return
        async with self._claim_kept(pending):
            for attempt in range(1, ANSWER_ATTEMPTS + 1):
                try:
                    await self._take_turn(pending, channel)
                    return
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("hub: answering message %s failed (attempt %d of %d)", pending.id, attempt, ANSWER_ATTEMPTS)
            try:
                await self._apologise(pending, channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("hub: could not store an apology for message %s; the sweep will retry", pending.id)

    @asynccontextmanager
    async def _claim_kept(self, pending: PendingMessage) -> AsyncIterator[None]:
        """Renew the message's claim while its turn runs: a model or a file may take longer
        than the lease, and another process must not take the message over meanwhile."""

        async def renew() -> None:
            while True:
                await asyncio.sleep(ANSWER_LEASE.total_seconds() / 3)
                try:
                    await self._store.extend_claim(pending.id, lease=ANSWER_LEASE)
                except Exception:  # noqa: BLE001 — the next renewal tries again
                    log.warning("hub: could not renew the claim on message %s", pending.id, exc_info=True)

        renewal = asyncio.create_task(renew(), name=f"claim-{pending.id}")
        try:
            yield
        finally:
            renewal.cancel()
            await asyncio.gather(renewal, return_exceptions=True)

    async def _take_turn(self, pending: PendingMessage, channel: Channel) -> None:
        async def delivered(finished: FinishedTurn) -> None:
            await self._delivered(pending, channel, finished.reply)
            if finished.case_id is not None or finished.reply is None:
                self._sync_desk_soon()  # a new case, or a message for the person who has it

        await self._turns.run(
            pending, push=channel.capabilities.push, stream=self._sink(channel, pending), delivered=delivered
        )

    async def _apologise(self, pending: PendingMessage, channel: Channel) -> None:
        """The apology promises a person, so it opens a case like any escalation."""
        result = TurnResult(
            signals=None,
            reply=Reply(APOLOGY, handoff=True),
            escalation=CaseOpening("error", f"Answering failed {ANSWER_ATTEMPTS} times; see the server log."),
        )
        finished = await self._store.finish_turn(pending, result, push=channel.capabilities.push)
        if finished is not None:
            await self._delivered(pending, channel, finished.reply)
            self._sync_desk_soon()

    def _channel_for(self, pending: PendingMessage) -> Channel | None:
        channel = self._channels.get(pending.address.channel)
        if channel is None:
            log.warning("hub: message %s is for disabled channel %s; left unanswered", pending.id, pending.address.channel)
        return channel

    @staticmethod
    def _sink(channel: Channel, pending: PendingMessage) -> StreamSink | None:
        if not (channel.capabilities.streaming and isinstance(channel, StreamingChannel)):
            return None

        async def sink(event: StreamEvent) -> None:
            await channel.stream(pending.address, pending.id, event)

        return sink

    async def _delivered(self, pending: PendingMessage, channel: Channel, stored: StoredMessage | None) -> None:
        """Wake whoever waits for this answer (None: no bot answer is coming) and push it."""
        future = self._replies.get(pending.id)
        if future is not None and not future.done():
            future.set_result(stored)
        if stored is not None and channel.capabilities.push:
            await self._outbox.deliver_conversation(pending.conversation_id)
