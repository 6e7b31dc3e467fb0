"""An in-memory hub behind the hub port, for testing a channel alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.channel import Admission, Channel, ConversationOverview, FeedbackResult, HubPort, RatingResult, Receipt
from core.desk_port import CaseAction
from core.messages import Address, Author, Citation, InboundMessage, StoredMessage, SurveyPart
from core.pipeline.hub_gate import HubGate
from core.rate_limits import RateLimits
from knowledge.hits import Hit

CITATION = Citation(source="reset-your-password.md", title="Reset your password", section="How to reset", score=0.81)


@dataclass(frozen=True)
class MemoryValues:
    """A channel's key-value store in a dict (every value counts as saved just now)."""

    saved: dict[str, str]

    async def get(self, key: str, *, newer_than: datetime | None = None) -> str | None:
        return self.saved.get(key)

    async def put(self, key: str, value: str) -> None:
        self.saved[key] = value


class FakeHub:
    """The hub port in memory: stores both directions and answers every new customer
    message with a canned cited reply through `channel.send`, as the outbox would."""

    def __init__(self, channel: Channel, *, answer_inline: bool = False, limits: RateLimits | None = None) -> None:
        """`limits`: the real rate limiter to admit messages with; none by default."""
        self.channel = channel
        self.limits = limits if limits is not None else RateLimits(per_contact="", per_ip="")
        self.answer_inline = answer_inline
        self.received: list[InboundMessage] = []
        self.messages: list[tuple[Address, StoredMessage]] = []
        self.by_external_id: dict[str, StoredMessage] = {}
        self.votes: dict[int, str] = {}
        self.ratings: dict[int, int] = {}
        """Survey question id → the score given with its buttons."""
        self.staff_events: list[tuple[str, str, str]] = []
        self.gate = asyncio.Event()  # cleared by a test to hold the answer back
        self.gate.set()
        self.fail_next = False
        self.values_by_channel: dict[str, dict[str, str]] = {}
        self.opted_out: set[Address] = set()
        self.languages: dict[Address, str] = {}
        """A conversation's language by its address, as a test sets it (the turn keeps it)."""
        self.statuses: dict[str, tuple[str, int, str | None]] = {}
        self.held: dict[str, str] = {}
        """Why each reply the platform refused until the customer writes again is held."""
        self.reply_text: str | None = None  # None: "**Answer** to: <question>"
        self.reply_handoff = False
        self.with_person = False
        """A person has every conversation: messages are stored and nobody answers (receipts say so)."""
        self._tasks: set[asyncio.Task[None]] = set()

    def add(self, address: Address, author: Author, text: str, **extra: Any) -> StoredMessage:
        message = StoredMessage(
            id=len(self.messages) + 1,
            conversation_id=f"conv-{address.chat_id}",
            author=author,
            text=text,
            citations=extra.get("citations", ()),
            handoff=extra.get("handoff", False),
            created_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
            reply_to=extra.get("reply_to"),
            survey=extra.get("survey"),
            language=extra.get("language"),
        )
        self.messages.append((address, message))
        return message

    async def admit(self, *, channel: str, sender: str | None = None, ip: str | None = None) -> Admission:
        return await self.limits.admit(channel=channel, sender=sender, ip=ip)

    async def admit_session(self, *, channel: str, ip: str | None) -> Admission:
        return await self.limits.admit_session(channel=channel, ip=ip)

    async def receive(self, message: InboundMessage) -> Receipt:
        self.received.append(message)
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("database went away")
        if (known := self.by_external_id.get(message.external_id)) is not None:
            return Receipt(message_id=known.id, conversation_id=known.conversation_id, duplicate=True)
        stored = self.add(message.address, Author.CUSTOMER, message.text)
        self.by_external_id[message.external_id] = stored
        if self.with_person:  # a person has the conversation: the bot stays silent
            return Receipt(
                message_id=stored.id, conversation_id=stored.conversation_id, duplicate=False, with_person=True
            )
        if self.answer_inline:
            await self._answer(message.address, stored)
        else:
            task = asyncio.create_task(self._answer(message.address, stored))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return Receipt(message_id=stored.id, conversation_id=stored.conversation_id, duplicate=False)

    async def _answer(self, address: Address, question: StoredMessage) -> None:
        await self.gate.wait()
        text = self.reply_text if self.reply_text is not None else f"**Answer** to: {question.text}"
        reply = self.add(
            address, Author.BOT, text, citations=(CITATION,), handoff=self.reply_handoff, reply_to=question.id
        )
        await self.channel.send(address, reply)

    def _reply(self, message_id: int) -> StoredMessage | None:
        return next((m for _, m in self.messages if m.reply_to == message_id), None)

    async def wait_for_reply(self, message_id: int, *, timeout: float) -> StoredMessage | None:
        async with asyncio.timeout(timeout):
            while (reply := self._reply(message_id)) is None:
                await asyncio.sleep(0.01)
        return reply

    async def answered(self, message_id: int) -> bool:
        return self._reply(message_id) is not None

    async def history(self, address: Address, *, after: int = 0, limit: int = 200) -> list[StoredMessage]:
        found = [m for a, m in self.messages if a == address and m.id > after]
        return found[:limit]

    async def conversation_messages(
        self, conversation_id: str, *, after: int = 0, limit: int = 200
    ) -> list[StoredMessage] | None:
        found = [m for _, m in self.messages if m.conversation_id == conversation_id]
        return [m for m in found if m.id > after][:limit] if found else None

    async def conversation_overview(self, conversation_id: str) -> ConversationOverview | None:
        if not any(m.conversation_id == conversation_id for _, m in self.messages):
            return None
        return ConversationOverview(conversation_id, "bot", None, None, (), (), 0.0)

    async def has_conversation(self, address: Address) -> bool:
        return any(a == address for a, _ in self.messages)

    async def language_at(self, address: Address) -> str | None:
        return self.languages.get(address)

    async def feedback(
        self, message_id: int, *, rating: str, comment: str | None = None, address: Address | None = None
    ) -> FeedbackResult:
        found = next(((a, m) for a, m in self.messages if m.id == message_id), None)
        if found is None or (address is not None and found[0] != address):
            return FeedbackResult.NOT_FOUND
        if found[1].author is not Author.BOT:
            return FeedbackResult.NOT_A_REPLY
        self.votes[message_id] = rating
        return FeedbackResult.SAVED

    async def rate(self, message_id: int, *, score: int, address: Address, comment: str | None = None) -> RatingResult:
        found = next(((a, m) for a, m in self.messages if m.id == message_id), None)
        if found is None or found[0] != address or found[1].survey is not SurveyPart.QUESTION:
            return RatingResult.NOT_FOUND
        if message_id in self.ratings:
            return RatingResult.CLOSED
        self.ratings[message_id] = score
        return RatingResult.SAVED

    async def search(self, query: str, k: int) -> list[Hit]:
        return []

    async def staff_message(self, *, desk_ref: str, actor: str, text: str, event_id: str | None = None) -> None:
        self.staff_events.append((desk_ref, actor, text))

    async def staff_action(self, *, case_id: str, action: CaseAction, actor: str) -> None:
        self.staff_events.append((case_id, actor, action.value))

    def values(self, channel: str) -> MemoryValues:
        return MemoryValues(self.values_by_channel.setdefault(channel, {}))

    async def address_of_message(self, channel: str, external_ids: Sequence[str]) -> Address | None:
        found = [
            a
            for i in external_ids
            if (m := self.by_external_id.get(i)) is not None
            for a, n in self.messages
            if n.id == m.id and a.channel == channel
        ]
        return found[-1] if found else None

    async def move_chat(self, channel: str, old_chat_id: str, new_chat_id: str) -> None:
        self.messages = [
            (
                Address(a.channel, new_chat_id, a.thread_id)
                if a.channel == channel and a.chat_id == old_chat_id
                else a,
                m,
            )
            for a, m in self.messages
        ]

    async def set_opted_out(self, address: Address, opted_out: bool) -> bool:
        changed = (address in self.opted_out) != opted_out
        (self.opted_out.add if opted_out else self.opted_out.discard)(address)
        return changed

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
        known = self.statuses.get(external_id)
        if known is not None and known[1] >= rank:
            return False
        self.statuses[external_id] = (status, rank, unreachable)
        if held is not None:
            self.held[external_id] = held
        return True


@asynccontextmanager
async def started(build: Callable[[HubPort], Channel], **options: Any) -> AsyncIterator[FakeHub]:
    """The channel `build` makes with the hub's ports, started against a FakeHub (`options` as
    FakeHub takes them), stopped afterwards."""
    gate = HubGate()
    channel = build(gate.port)
    hub = FakeHub(channel, **options)
    gate.open(hub)
    await channel.start()
    try:
        yield hub
    finally:
        await channel.stop()
