"""Waiting for proof that the hub has processed everything it received, so a test that then
asserts something did *not* happen cannot pass just because the machine was slow."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.store.db import DeliveryStatus, Message, MessageStatus, OutboxItem


async def settled(sessionmaker: async_sessionmaker[AsyncSession], *, timeout: float = 30) -> None:
    """Every stored question is answered and every reply delivered (or given up): from here on
    nothing more can go out, so a count taken now is final."""
    async with asyncio.timeout(timeout):
        while True:
            async with sessionmaker() as session:
                pending = (
                    await session.execute(
                        select(func.count()).select_from(Message).where(Message.status == MessageStatus.PENDING)
                    )
                ).scalar_one()
                undelivered = (
                    await session.execute(
                        select(func.count()).select_from(OutboxItem).where(OutboxItem.status == DeliveryStatus.PENDING)
                    )
                ).scalar_one()
            if pending == undelivered == 0:
                return
            await asyncio.sleep(0.05)


async def until(
    condition: Callable[[], Any], *, timeout: float = 30, what: str = "the condition", every: float = 0.05
) -> Any:
    """The first truthy value of `condition()` (a value, or an awaitable of one), asked every
    `every` seconds; fails the test after `timeout` seconds, naming `what` it waited for."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = condition()
        if inspect.isawaitable(found):
            found = await found
        if found:
            return found
        if asyncio.get_running_loop().time() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(every)
