"""The wake-up between hub processes: PostgreSQL tells every listener about each stored
message (a trigger on `messages` calls pg_notify in the inserting transaction, so a
notification arrives only once the row is committed and readable).

A notification is only a nudge — the table stays the truth. Notifications sent while a
listener is disconnected are lost, so after every (re)connect the hub catches up by reading
what it may have missed. The listener runs on a dedicated connection (asyncpg's LISTEN needs
one held for good, never a pooled one), pinged so a dead socket is noticed, and ignores the
notifications this process's own connections caused: it acted on those already.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any

import asyncpg

from core.messages import Address

log = logging.getLogger(__name__)

CHANNEL = "supporthub_messages"
PING_INTERVAL_S = 5.0
QUERY_TIMEOUT_S = 5.0
RECONNECT_S = 1.0


@dataclass(frozen=True, slots=True)
class StoredElsewhere:
    """A message another process stored."""

    message_id: int
    conversation_id: str
    address: Address
    reply_to: int | None


def parse_notice(payload: str) -> StoredElsewhere | None:
    try:
        data: dict[str, Any] = json.loads(payload)
        return StoredElsewhere(
            message_id=int(data["id"]),
            conversation_id=str(data["conversation"]),
            address=Address(str(data["channel"]), str(data["chat"]), str(data["thread"] or "") or None),
            reply_to=int(data["reply_to"]) if data.get("reply_to") is not None else None,
        )
    except (ValueError, KeyError, TypeError):
        log.warning("notifications: ignoring a malformed notification %r", payload[:200])
        return None


class MessageListener:
    def __init__(
        self,
        dsn: str,
        *,
        own_backends: Collection[int],
        on_message: Callable[[StoredElsewhere], Awaitable[None]],
        on_connect: Callable[[], Awaitable[None]],
    ) -> None:
        """`on_message` runs for each message other processes store; `on_connect` after
        every (re)connect, to read what may have been missed meanwhile."""
        self._dsn = dsn
        self._own_backends = own_backends
        self._on_message = on_message
        self._on_connect = on_connect
        self._task: asyncio.Task[None] | None = None
        self._handling: set[asyncio.Task[None]] = set()
        self.connected = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen_forever(), name="message-listener")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._handling) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _listen_forever(self) -> None:
        failing = False
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 — reconnect whatever broke
                if not failing:
                    log.warning("notifications: listening failed (%s: %s); reconnecting", type(exc).__name__, exc)
                failing = True
            else:
                failing = False
            self.connected.clear()
            await asyncio.sleep(RECONNECT_S)

    async def _listen(self) -> None:
        connection = await asyncpg.connect(
            self._dsn, timeout=QUERY_TIMEOUT_S, server_settings={"application_name": "supporthub-listener"}
        )
        try:
            lost = asyncio.Event()
            connection.add_termination_listener(lambda _: lost.set())
            await connection.add_listener(CHANNEL, self._notified)
            self.connected.set()
            await self._on_connect()
            while not lost.is_set():
                try:
                    await asyncio.wait_for(lost.wait(), PING_INTERVAL_S)
                except TimeoutError:
                    await connection.fetchval("SELECT 1", timeout=QUERY_TIMEOUT_S)
            log.warning("notifications: the database closed the listening connection")
        finally:
            connection.terminate()

    def _notified(self, _connection: Any, pid: int, _channel: str, payload: str) -> None:
        if pid in self._own_backends:
            return
        notice = parse_notice(payload)
        if notice is None:
            return
        task = asyncio.create_task(self._handle(notice), name=f"stored-elsewhere-{notice.message_id}")
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)

    async def _handle(self, notice: StoredElsewhere) -> None:
        try:
            await self._on_message(notice)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("notifications: handling message %s stored by another process failed", notice.message_id)
