"""The hub pipeline: receive → persist → answer in conversation order → deliver.

`receive()` returns as soon as the message is stored, so a channel can acknowledge its
platform fast. The message is stored already claimed by this process for a short lease and
answered by a per-conversation worker (`conversation_workers`). If the process dies first, the
lease runs out and the sweep (`sweeper`, here or in any other hub process) claims and answers
it; undelivered replies are picked up the same way. The database's conditional updates make
every answer happen once. The hub itself is the port channels and the staff desk call, and one
message's turn: take it, deliver it, follow it up.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import replace
from datetime import UTC, datetime

from core.answering.agent import Answerer
from core.channel import (
    Admission,
    Channel,
    ChannelValues,
    ConversationOverview,
    FeedbackResult,
    LiveChannel,
    RatingResult,
    Receipt,
    StreamingChannel,
)
from core.clean_text import clean, clean_address, clean_message, clean_optional
from core.desk_port import CaseAction
from core.handoff.cases import CaseOpening
from core.handoff.desk import StaffDesk
from core.handoff.desk_store import Relayed
from core.handoff.reach import where_to_reach
from core.handoff.translations import StaffTranslations
from core.languages import N_, _, speaking
from core.log_context import bound_ids
from core.messages import Address, InboundMessage, Reply, StoredMessage
from core.metrics import MESSAGES_RECEIVED, OUTBOX_HELD, REPLIES, TURN_SECONDS, Outcome
from core.pipeline.conversation_workers import ANSWER_LEASE, ConversationWorkers
from core.pipeline.notifications import StoredElsewhere
from core.pipeline.outbox import Outbox
from core.pipeline.pulse import Pulse
from core.pipeline.staffing import Staffing
from core.pipeline.storage import Storage
from core.pipeline.sweeper import Sweeper
from core.pipeline.turn_runner import READ_CHARS, TakenTurn, TurnRunner
from core.pipeline.turn_transactions import FinishedTurn, TurnResult
from core.rate_limits import RateLimits
from core.settings import Settings
from core.store.inbox import PendingMessage
from core.store.outbox_queue import Lane
from core.streaming import StreamEvent, StreamSink
from knowledge.hits import Hit

log = logging.getLogger(__name__)

REPLY_POLL_S = 0.2
"""How often a wait for a reply answered elsewhere reads the database without notifications."""
NOTIFIED_REPLY_POLL_S = 2.0
"""The same with notifications (PostgreSQL), only a safety net: a notification wakes it."""
ANSWER_ATTEMPTS = 3
RETRY_BASE_S = 0.5
"""The wait before the second attempt at a turn; it doubles for each further one."""
SORRY = N_("Sorry, something went wrong on our side while answering.")
APOLOGY = N_(
    "Sorry, something went wrong on our side while answering. A person from our support team will follow up here."
)


class Hub:
    """The pipeline; channels see it only through `core.channel.HubPort`."""

    def __init__(
        self,
        *,
        storage: Storage,
        agent: Answerer,
        turns: TurnRunner,
        channels: Mapping[str, Channel],
        settings: Settings,
        limits: RateLimits,
        desk: StaffDesk | None = None,
        staffing: Staffing | None = None,
        shared: bool = False,
        translations: StaffTranslations | None = None,
    ) -> None:
        """`shared`: other hub processes may serve the same database (PostgreSQL); their
        stored messages are then notified here, and a conversation's order is kept across them.
        `translations`: with an LLM, customer messages reaching staff are translated for them first."""
        self._storage = storage
        self._agent = agent
        self._turns = turns
        self._desk = desk
        self._staffing = staffing or Staffing(desk=desk is not None, inbox=None)
        self.translations = translations
        """Between staff's language and customers' (the inbox translates staff replies with it)."""
        self._desk_work: set[asyncio.Task[None]] = set()
        self._channels = channels
        self._settings = settings
        self._limits = limits
        self._outbox = Outbox(storage.outbox, channels, settings.outbox, desk)
        self._replies: dict[int, asyncio.Future[StoredMessage | None]] = {}
        self._awaited: dict[int, set[asyncio.Future[None]]] = {}
        """Replies awaited here for messages another process answers: woken by a notification."""
        self._shared = shared
        self._workers = ConversationWorkers(
            storage.inbox, answer=self._answer, finished=self._forget_reply, shared=shared
        )
        self._sweeper = Sweeper(
            storage,
            self._outbox,
            channels=list(channels),
            desk=desk is not None,
            in_hand=self._workers.in_hand,
            take=self._workers.enqueue,
            interval_s=settings.outbox.poll_interval_s,
        )
        self.pulse = Pulse()
        self.push = frozenset(name for name, channel in channels.items() if channel.capabilities.push)
        """The channels a reply is delivered to by the outbox (the others fetch theirs)."""
        """Beats on every message stored and every case changed, here or (PostgreSQL) elsewhere."""

    # -- the hub port: what channels call --------------------------------------------------

    async def admit(self, *, channel: str, sender: str | None = None, ip: str | None = None) -> Admission:
        return await self._limits.admit(channel=channel, sender=sender, ip=ip)

    async def admit_session(self, *, channel: str, ip: str | None) -> Admission:
        return await self._limits.admit_session(channel=channel, ip=ip)

    async def receive(self, message: InboundMessage) -> Receipt:
        message = clean_message(message)  # the one way in for every channel's messages
        hint = message.language_hint
        if hint is not None and hint not in self._settings.languages.detect:  # only one we recognise
            message = replace(message, language_hint=None)
        with bound_ids(channel=message.address.channel):
            if message.address.channel not in self._channels:
                raise ValueError(f"channel {message.address.channel!r} is not enabled")
            try:  # the question encoded while the message is stored and its turn read
                self._agent.prepare(message.text[:READ_CHARS])
            except Exception:  # a head start only: the message is stored and answered regardless
                log.exception("hub: starting on message %s's question failed", message.external_id)
            if self._shared:
                receipt, first_in_line = await self._storage.inbox.save_in_line(message, lease=ANSWER_LEASE)
            else:
                receipt, first_in_line = await self._storage.inbox.save(message, lease=ANSWER_LEASE), False
            with bound_ids(conversation_id=receipt.conversation_id, message_id=receipt.message_id):
                if not receipt.duplicate:
                    self.pulse.beat()
                    MESSAGES_RECEIVED.labels(channel=message.address.channel).inc()
                    self._replies[receipt.message_id] = asyncio.get_running_loop().create_future()
                    self._workers.enqueue(
                        PendingMessage(
                            receipt.message_id, receipt.conversation_id, message.text, message.address, first_in_line
                        )
                    )
            return receipt

    async def wait_for_reply(self, message_id: int, *, timeout: float) -> StoredMessage | None:
        future = self._replies.get(message_id)
        if future is not None:  # being answered here
            try:
                return await asyncio.wait_for(asyncio.shield(future), timeout)
            except TimeoutError:
                return None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        poll = NOTIFIED_REPLY_POLL_S if self._shared else REPLY_POLL_S
        waiters = self._awaited.setdefault(message_id, set())
        woken: asyncio.Future[None] | None = None
        try:
            while True:  # answered earlier, or by another process
                woken = loop.create_future()
                waiters.add(woken)  # before reading: a notification meanwhile is not missed
                stored = await self._storage.inbox.reply_to(message_id)
                remaining = deadline - loop.time()
                if stored is not None or remaining <= 0:
                    return stored
                with suppress(TimeoutError):
                    await asyncio.wait_for(woken, min(poll, remaining))
                waiters.discard(woken)
        finally:
            if woken is not None:
                waiters.discard(woken)
            if not waiters:
                self._awaited.pop(message_id, None)

    async def answered(self, message_id: int) -> bool:
        return await self._storage.inbox.is_answered(message_id)

    async def history(self, address: Address, *, after: int = 0, limit: int = 200) -> list[StoredMessage]:
        return await self._storage.views.history(clean_address(address), after=after, limit=limit)

    async def conversation_messages(
        self, conversation_id: str, *, after: int = 0, limit: int = 200
    ) -> list[StoredMessage] | None:
        return await self._storage.views.messages(clean(conversation_id), after=after, limit=limit)

    async def conversation_overview(self, conversation_id: str) -> ConversationOverview | None:
        return await self._storage.views.overview(clean(conversation_id))

    async def has_conversation(self, address: Address) -> bool:
        return await self._storage.views.conversation_at(clean_address(address)) is not None

    async def language_at(self, address: Address) -> str | None:
        return await self._storage.views.language_at(clean_address(address))

    async def feedback(
        self, message_id: int, *, rating: str, comment: str | None = None, address: Address | None = None
    ) -> FeedbackResult:
        return await self._storage.feedback.save(
            message_id, rating=rating, comment=clean_optional(comment), address=address
        )

    async def rate(self, message_id: int, *, score: int, address: Address, comment: str | None = None) -> RatingResult:
        return await self._storage.surveys.answer(
            message_id, score=score, address=clean_address(address), comment=clean_optional(comment)
        )

    async def search(self, query: str, k: int) -> list[Hit]:
        return await self._agent.search(query, k)

    async def staff_message(self, *, desk_ref: str, actor: str, text: str, event_id: str | None = None) -> None:
        if self._desk is not None:
            relayed = await self._desk.staff_message(
                desk_ref=clean(desk_ref),
                actor=clean(actor),
                text=clean(text),
                event_id=clean(event_id) if event_id is not None else None,
            )
            self.pulse.beat()
            if relayed is not None:
                await self._deliver_to(relayed.conversation_id, relayed.channel)

    async def staff_action(self, *, case_id: str, action: CaseAction, actor: str) -> None:
        if self._desk is not None:
            relayed = await self._desk.act(case_id=case_id, action=action, actor=actor)
            self.pulse.beat()
            if relayed is not None:
                await self._deliver_to(relayed.conversation_id, relayed.channel)

    async def case_changed(self, relayed: Relayed) -> None:
        """The browser inbox changed a case: deliver what it said to the customer, and bring
        the Slack desk (when there is one) up to date: the card, a reply's line in its thread."""
        self.pulse.beat()
        await self._deliver_to(relayed.conversation_id, relayed.channel)
        if self._desk is not None:
            await self._desk.show(relayed)
            self._to_desk_soon(relayed.conversation_id)

    def values(self, channel: str) -> ChannelValues:
        return self._storage.channel_values.of(channel)

    async def address_of_message(self, channel: str, external_ids: Sequence[str]) -> Address | None:
        return await self._storage.channel_state.address_of_message(channel, [clean(i) for i in external_ids])

    async def move_chat(self, channel: str, old_chat_id: str, new_chat_id: str) -> None:
        moved = await self._storage.channel_state.move_chat(channel, old_chat_id, new_chat_id)
        log.info("hub: %s chat %s moved to %s (%d conversations follow it)", channel, old_chat_id, new_chat_id, moved)

    async def set_opted_out(self, address: Address, opted_out: bool) -> bool:
        return await self._storage.channel_state.set_opted_out(clean_address(address), opted_out)

    async def delivery_status(
        self,
        channel: str,
        external_id: str,
        status: str,
        rank: int,
        *,
        unreachable: str | None = None,
        held: str | None = None,
    ) -> bool:
        recorded = await self._storage.channel_state.delivery_status(
            channel, clean(external_id), status, rank, unreachable=unreachable, held=held
        )
        if recorded and held is not None:
            OUTBOX_HELD.labels(channel=channel).inc()
        return recorded

    # -- other processes -------------------------------------------------------------------

    async def stored_elsewhere(self, notice: StoredElsewhere) -> None:
        """Another process stored a message: wake a wait for it, and show it on the widget
        sockets this process holds for its conversation."""
        self.pulse.beat()
        if notice.reply_to is not None:
            for woken in self._awaited.get(notice.reply_to, ()):
                if not woken.done():
                    woken.set_result(None)
        channel = self._channels.get(notice.address.channel)
        if isinstance(channel, LiveChannel) and channel.holds(notice.address):
            found = await self._storage.views.messages(notice.conversation_id, after=notice.message_id - 1, limit=1)
            if found and found[0].id == notice.message_id:
                await channel.send(notice.address, found[0])

    async def catch_up(self) -> None:
        """After notifications may have been missed (the listener reconnected): re-read."""
        for waiters in self._awaited.values():
            for woken in waiters:
                if not woken.done():
                    woken.set_result(None)
        for channel in self._channels.values():
            if isinstance(channel, LiveChannel):
                await channel.catch_up()

    # -- scheduled -------------------------------------------------------------------------

    async def remind_overdue_cases(self, *, now: datetime | None = None) -> int:
        """The SLA job: remind staff of unanswered cases and tell their customers; how many."""
        if self._desk is None:
            return 0
        overdue = await self._desk.remind_overdue(now=now)
        for case in overdue:
            await self._deliver_to(case.conversation_id, case.channel)
            await self._outbox.deliver_conversation(case.conversation_id, Lane.DESK)
        return len(overdue)

    async def _deliver_to(self, conversation_id: str, channel_name: str) -> None:
        channel = self._channels.get(channel_name)
        if channel is not None and channel.capabilities.push:
            await self._outbox.deliver_conversation(conversation_id)

    def _to_desk_soon(self, conversation_id: str) -> None:
        """Post a new case's card or a customer's line without holding up the conversation,
        translated for staff first when they read another language (`core.handoff.translations`)."""
        if self._desk is None and self.translations is None:
            return
        task = asyncio.create_task(
            self._to_staff(conversation_id),
            name=f"desk-{conversation_id}",
            context=contextvars.Context(),
        )
        self._desk_work.add(task)
        task.add_done_callback(self._desk_done)

    async def _to_staff(self, conversation_id: str) -> None:
        """Translate for staff (the inbox shows it at once), then post to the desk."""
        if self.translations is not None and await self.translations.for_staff(conversation_id):
            self.pulse.beat()  # the inbox shows the translation
        if self._desk is not None:
            await self._outbox.deliver_conversation(conversation_id, Lane.DESK)

    def _desk_done(self, task: asyncio.Task[None]) -> None:
        self._desk_work.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("hub: the staff desk's delivery failed; the sweep tries again", exc_info=exc)

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Answer and deliver what a previous run left behind, then keep sweeping."""
        await self._sweeper.start()

    async def stop(self) -> None:
        await self._sweeper.stop()
        desk_work = list(self._desk_work)
        for task in desk_work:
            task.cancel()
        await asyncio.gather(*desk_work, return_exceptions=True)
        await self._workers.stop()

    # -- answering -----------------------------------------------------------------------

    async def _answer(self, pending: PendingMessage) -> None:
        """Take the turn, then deliver it and follow it up. Only the turn is retried: what
        fails after it committed (a delivery, the outbox's own database work) must never ask
        the model again — the sweep delivers what is left in the outbox."""
        channel = self._channels.get(pending.address.channel)
        if channel is None:
            log.warning(
                "hub: message %s is for disabled channel %s; left unanswered", pending.id, pending.address.channel
            )
            return
        started = time.perf_counter()
        async with self._workers.claim_kept(pending):
            taken = await self._take_or_apologise(pending, channel)
        if taken is not None:
            _count_turn(taken, pending.address.channel, seconds=time.perf_counter() - started)
        try:
            if taken is None:  # answered before (by another process), or not even the apology stored
                self._wake(pending.id, await self._storage.inbox.reply_to(pending.id))
                return
            await self._delivered(pending, channel, taken.finished)
            suggested_case = await self._turns.follow_up(pending, taken)
            if suggested_case is not None and self._desk is not None:
                await self._desk.refresh_card(suggested_case)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception(
                "hub: delivering or following up the answer to message %s failed; the sweep delivers what is left",
                pending.id,
            )

    async def _take_or_apologise(self, pending: PendingMessage, channel: Channel) -> TakenTurn | None:
        """Never leave a customer without a reply: after repeated failures to answer, say
        sorry and offer a person. If even that cannot be stored, the sweep tries again."""
        for attempt in range(1, ANSWER_ATTEMPTS + 1):
            try:
                return await self._turns.take(
                    pending, push=channel.capabilities.push, stream=self._sink(channel, pending)
                )
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception(
                    "hub: answering message %s failed (attempt %d of %d)", pending.id, attempt, ANSWER_ATTEMPTS
                )
            if attempt < ANSWER_ATTEMPTS:
                await asyncio.sleep(RETRY_BASE_S * 2 ** (attempt - 1))
        try:
            return await self._apologise(pending, channel)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("hub: could not store an apology for message %s; the sweep will retry", pending.id)
            return None

    async def _apologise(self, pending: PendingMessage, channel: Channel) -> TakenTurn | None:
        """The apology promises a person, so it opens a case like any escalation; without a desk
        that takes cases it says where to reach the team instead and opens none: the bot keeps
        the conversation (`core.handoff.reach`)."""
        staffed = await self._staffing.staffed()
        language = await self._storage.views.language_at(pending.address)
        with speaking(language or self._settings.languages.default):
            apology = (
                _(APOLOGY) if staffed else f"{_(SORRY)} {where_to_reach(self._settings.handoff, now=datetime.now(UTC))}"
            )
        failed = f"Answering failed {ANSWER_ATTEMPTS} times; see the server log."
        result = TurnResult(
            signals=None,
            reply=Reply(apology, handoff=True),
            escalation=CaseOpening("error", failed, language=language) if staffed else None,
            language=language,
        )
        finished = await self._storage.turns.finish(pending, result, push=channel.capabilities.push)
        return TakenTurn(finished) if finished is not None else None

    @staticmethod
    def _sink(channel: Channel, pending: PendingMessage) -> StreamSink | None:
        if not (channel.capabilities.streaming and isinstance(channel, StreamingChannel)):
            return None

        async def sink(event: StreamEvent) -> None:
            await channel.stream(pending.address, pending.id, event)

        return sink

    async def _delivered(self, pending: PendingMessage, channel: Channel, finished: FinishedTurn) -> None:
        """Wake whoever waits for this answer (None: no bot answer is coming), push it, and
        bring the staff desk up to date (a new case, or a message for the person who has it)."""
        self._wake(pending.id, finished.reply)
        self.pulse.beat()
        if finished.to_desk:
            self._to_desk_soon(pending.conversation_id)
        if channel.capabilities.push and (finished.reply is not None or finished.to_desk):
            # a person's conversation: replies held until the customer wrote go now
            await self._outbox.deliver_conversation(pending.conversation_id)

    def _forget_reply(self, message_id: int) -> None:
        self._replies.pop(message_id, None)

    def _wake(self, message_id: int, reply: StoredMessage | None) -> None:
        future = self._replies.get(message_id)
        if future is not None and not future.done():
            future.set_result(reply)


def _count_turn(taken: TakenTurn, channel: str, *, seconds: float) -> None:
    """The turn's latency by responder, and its reply (if the bot gave one, other than the
    survey's thanks) by outcome."""
    TURN_SECONDS.labels(responder=taken.responder).observe(seconds)
    if taken.finished.reply is not None and taken.finished.reply.survey is None:
        outcome = (
            Outcome.ESCALATED
            if taken.finished.case_id is not None
            else Outcome.DECLINED
            if taken.declined
            else Outcome.ANSWERED
        )
        REPLIES.labels(channel=channel, outcome=outcome).inc()
