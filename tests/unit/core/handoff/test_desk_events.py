"""A staff message the platform sends again is acted on once, on SQLite and PostgreSQL; the ids
kept for it are let go after a day."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.handoff.desk_store import DESK_EVENTS, KEEP_DESK_EVENTS, first_delivery
from core.store.db import ChannelValue, utcnow


async def test_the_second_delivery_of_a_staff_message_is_not_the_first(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async def first(event_id: str) -> bool:
        async with sessionmaker.begin() as session:
            return await session.run_sync(lambda sync: first_delivery(sync, event_id=event_id))

    assert await first("1700000300.000100") and not await first("1700000300.000100")
    assert await first("1700000300.000200")
    async with sessionmaker.begin() as session:  # a day and more later
        aged = utcnow() - KEEP_DESK_EVENTS - timedelta(minutes=1)
        await session.execute(update(ChannelValue).where(ChannelValue.channel == DESK_EVENTS).values(updated_at=aged))
    assert await first("1700000400.000100")
    async with sessionmaker() as session:
        kept = (await session.scalars(select(ChannelValue.key).where(ChannelValue.channel == DESK_EVENTS))).all()
    assert kept == ["1700000400.000100"]
