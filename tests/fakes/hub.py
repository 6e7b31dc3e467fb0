"""An in-memory stand-in for the hub's channel-facing calls, for testing a channel alone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from channels.web import WebChannel
from core.messages import Address, Author, Citation, InboundMessage, StoredMessage
from core.store import Receipt

CITATION = Citation(source="reset-your-password.md", title="Reset your password", section="How to reset", score=0.81)


class FakeHub:
    """The hub's two calls, in memory: stores both directions and answers every new
    customer message with a canned cited reply through `channel.send`, as the outbox would."""

    def __init__(self, channel: WebChannel, *, answer_inline: bool = False) -> None:
        self.channel = channel
        self.answer_inline = answer_inline
        self.received: list[InboundMessage] = []
        self.messages: list[tuple[Address, StoredMessage]] = []
        self.by_external_id: dict[str, StoredMessage] = {}
        self.gate = asyncio.Event()  # cleared by a test to hold the answer back
        self.gate.set()
        self.fail_next = False
        self.reply_text: str | None = None  # None: "**Answer** to: <question>"
        self.reply_handoff = False
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
        )
        self.messages.append((address, message))
        return message

    async def receive(self, message: InboundMessage) -> Receipt:
        self.received.append(message)
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("database went away")
        if (known := self.by_external_id.get(message.external_id)) is not None:
            return Receipt(message_id=known.id, conversation_id=known.conversation_id, duplicate=True)
        stored = self.add(message.address, Author.CUSTOMER, message.text)
        self.by_external_id[message.external_id] = stored
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
        reply = self.add(address, Author.BOT, text, citations=(CITATION,), handoff=self.reply_handoff)
        await self.channel.send(address, reply)

    async def history(self, address: Address, *, after: int = 0, limit: int = 200) -> list[StoredMessage]:
        found = [m for a, m in self.messages if a == address and m.id > after]
        return found[:limit]
