"""The operator's calibration of the answer bar (`core.answering.calibration`), one row per
knowledge collection (`core.store.db.AnswerCalibration`), and each process's view of it."""

from __future__ import annotations

import time
from dataclasses import asdict, fields

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.answering.calibration import Calibration
from core.store.contacts import dialect_insert
from core.store.db import AnswerCalibration

REFRESH_S = 30.0
"""How long a process goes on with the calibration it read before reading it again."""


async def save(sessionmaker: async_sessionmaker[AsyncSession], collection: str, calibration: Calibration) -> None:
    values = asdict(calibration)
    async with sessionmaker() as session, session.begin():
        statement = dialect_insert(session.sync_session)(AnswerCalibration).values(collection=collection, **values)
        await session.execute(statement.on_conflict_do_update(index_elements=["collection"], set_=values))


async def load(sessionmaker: async_sessionmaker[AsyncSession], collection: str) -> Calibration | None:
    async with sessionmaker() as session:
        row = await session.get(AnswerCalibration, collection)
        return None if row is None else Calibration(**{f.name: getattr(row, f.name) for f in fields(Calibration)})


class CalibrationCache:
    """A process's view of its collection's calibration (`core.answering.calibration.Calibrations`):
    `current` is what it last read, and `fresh()` reads it again when that is older than
    REFRESH_S (one primary-key read)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], collection: str) -> None:
        self._sessionmaker = sessionmaker
        self._collection = collection
        self._read_at: float | None = None
        self.current: Calibration | None = None

    async def fresh(self) -> Calibration | None:
        now = time.monotonic()
        if self._read_at is None or now - self._read_at >= REFRESH_S:
            self.current = await load(self._sessionmaker, self._collection)
            self._read_at = now
        return self.current
