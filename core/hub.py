"""The hub pipeline: receive → persist → answer in conversation order → deliver.

`receive()` returns as soon as the message is stored, so a channel can acknowledge its
platform fast; answering happens in a per-conversation worker. Unanswered messages and
undelivered replies left by a restart (or a crashed process) are picked up by `start()`
and the periodic sweep.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from datetime import timedelta

from core.agent import Agent
from core.channel import Channel
from core.messages import Address, InboundMessage, StoredMessage
from core.outbox import Outbox
from core.settings import Settings
from core.store import PendingMessage, Receipt, Store
from knowledge.hits import Hit

log = logging.getLogger(__name__)

ANSWER_LEASE = timedelta(seconds=120)


class Hub:
    def __init__(
        self, *, store: Store, agent: Agent, channels: Mapping[str, Channel], settings: Settings
    ) -> None:
        self._store = store
        self._agent = agent
        self._channels = channels
        self._settings = settings
        self._outbox = Outbox(store, channels, settings.outbox)
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._reply_waiters: dict[int, list[asyncio.Future[StoredMessage]]] = {}
        self._sweeper: asyncio.Task[None] | None = None

    # -- what channels call --------------------------------------------------------------

    async def receive(self, message: InboundMessage) -> Receipt:
        """Store a customer message (idempotent on channel + external id) and queue its answer."""
        if message.address.channel not in self._channels:
            raise ValueError(f"channel {message.address.channel!r} is not enabled")
        receipt = await self._store.save_inbound(message)
        if not receipt.duplicate:
            self._schedule(receipt.conversation_id)
        return receipt

    async def wait_for_reply(self, message_id: int, *, timeout: float) -> StoredMessage | None:
        """The bot's answer to an inbound message, waiting up to `timeout` seconds for it."""
        future: asyncio.Future[StoredMessage] = asyncio.get_running_loop().create_future()
        self._reply_waiters.setdefault(message_id, []).append(future)
        try:
            stored = await self._store.reply_to(message_id)
            if stored is not None:
                return stored
            with contextlib.suppress(TimeoutError):
                return await asyncio.wait_for(future, timeout)
            return await self._store.reply_to(message_id)
        finally:
            waiters = self._reply_waiters.get(message_id, [])
            if future in waiters:
                waiters.remove(future)
            if not waiters:
                self._reply_waiters.pop(message_id, None)

    async def history(self, address: Address, *, after: int = 0, limit: int = 200) -> list[StoredMessage]:
        return await self._store.history(address, after=after, limit=limit)

    async def conversation_messages(
        self, conversation_id: str, *, after: int = 0, limit: int = 200
    ) -> list[StoredMessage] | None:
        return await self._store.conversation_messages(conversation_id, after=after, limit=limit)

    async def search(self, query: str, k: int) -> list[Hit]:
        return await self._agent.search(query, k)

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Answer what a previous run left unanswered, then keep sweeping for due work."""
        for conversation_id in await self._store.conversations_with_pending():
            self._schedule(conversation_id)
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="hub-sweeper")

    async def stop(self) -> None:
        tasks = [t for t in (self._sweeper, *self._workers.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._workers.clear()

    async def _sweep_forever(self) -> None:
        interval = self._settings.outbox.poll_interval_s
        while True:
            try:
                for conversation_id in await self._store.conversations_with_pending():
                    self._schedule(conversation_id)
                for conversation_id in await self._store.conversations_with_due_deliveries():
                    await self._outbox.deliver_conversation(conversation_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("hub: sweep failed; trying again")
            await asyncio.sleep(interval)

    # -- answering -----------------------------------------------------------------------

    def _schedule(self, conversation_id: str) -> None:
        """One worker per conversation: answers stay in order and none is answered twice."""
        if conversation_id in self._workers:
            self._again.add(conversation_id)
            return
        task = asyncio.create_task(self._work(conversation_id), name=f"conversation-{conversation_id}")
        self._workers[conversation_id] = task

    async def _work(self, conversation_id: str) -> None:
        try:
            while True:
                self._again.discard(conversation_id)
                for pending in await self._store.claim_pending(conversation_id, lease=ANSWER_LEASE):
                    await self._answer(pending)
                if conversation_id not in self._again:
                    break
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("hub: answering conversation %s failed; the sweep will retry", conversation_id)
        finally:
            self._workers.pop(conversation_id, None)
            self._again.discard(conversation_id)

    async def _answer(self, pending: PendingMessage) -> None:
        channel = self._channels.get(pending.address.channel)
        if channel is None:
            log.warning("hub: message %s is for disabled channel %s; left unanswered", pending.id, pending.address.channel)
            return
        reply = await self._agent.respond(pending.text)
        stored = await self._store.save_reply(pending, reply, push=channel.capabilities.push)
        if stored is None:
            return
        for future in self._reply_waiters.get(pending.id, ()):
            if not future.done():
                future.set_result(stored)
        if channel.capabilities.push:
            await self._outbox.deliver_conversation(pending.conversation_id)
