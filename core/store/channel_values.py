"""Each channel's own key-value store (table `channel_values`), handed to a channel as the
`core.channel.ChannelValues` port: Telegram's getUpdates offset, an IMAP folder's last UID, an
email thread's subject and last Message-ID. A channel sees only its own keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clean_text import clean
from core.store.contacts import dialect_insert
from core.store.db import ChannelValue, utcnow
from core.store.transactions import Transactions


class ChannelValueTable:
    """Every channel's values; `of(channel)` is the one channel's store."""

    def __init__(self, transactions: Transactions) -> None:
        self._run = transactions.run

    def of(self, channel: str) -> OwnValues:
        return OwnValues(self, channel)

    async def get(self, channel: str, key: str, *, newer_than: datetime | None = None) -> str | None:
        """The saved value; with `newer_than`, only if saved since then."""
        return await self._run(partial(_get, channel=channel, key=key, newer_than=newer_than))

    async def put(self, channel: str, key: str, value: str) -> None:
        await self._run(partial(_put, channel=channel, key=key, value=clean(value)))


@dataclass(frozen=True, slots=True)
class OwnValues:
    """One channel's store (implements `core.channel.ChannelValues`)."""

    table: ChannelValueTable
    channel: str

    async def get(self, key: str, *, newer_than: datetime | None = None) -> str | None:
        return await self.table.get(self.channel, key, newer_than=newer_than)

    async def put(self, key: str, value: str) -> None:
        await self.table.put(self.channel, key, value)


def _get(session: Session, *, channel: str, key: str, newer_than: datetime | None) -> str | None:
    query = select(ChannelValue.value).where(ChannelValue.channel == channel, ChannelValue.key == key)
    if newer_than is not None:
        query = query.where(ChannelValue.updated_at >= newer_than)
    return session.execute(query).scalar_one_or_none()


def _put(session: Session, *, channel: str, key: str, value: str) -> None:
    now = utcnow()
    upsert = dialect_insert(session)(ChannelValue).values(channel=channel, key=key, value=value, updated_at=now)
    session.execute(
        upsert.on_conflict_do_update(index_elements=["channel", "key"], set_={"value": value, "updated_at": now})
    )
