"""The operator's calibration of the answer bar (`core.answering.calibration`), one row per
knowledge collection (`core.store.db.AnswerCalibration`), and each process's view of it."""

from __future__ import annotations

import time

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.answering.calibration import Calibration
from core.store.db import AnswerCalibration

REFRESH_S = 30.0
"""How long a process goes on with the calibration it read before reading it again."""


async def save(sessionmaker: async_sessionmaker[AsyncSession], collection: str, calibration: Calibration) -> None:
    values = {
        "bar": calibration.bar,
        "answerable": calibration.answerable,
        "out_of_scope": calibration.out_of_scope,
        "answered": calibration.answered,
        "right_first": calibration.right_first,
        "declined_out": calibration.declined_out,
        "source": calibration.source,
        "fitted_at": calibration.fitted_at,
    }
    async with sessionmaker() as session, session.begin():
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        statement = insert(AnswerCalibration).values(collection=collection, **values)
        await session.execute(statement.on_conflict_do_update(index_elements=["collection"], set_=values))


async def load(sessionmaker: async_sessionmaker[AsyncSession], collection: str) -> Calibration | None:
    async with sessionmaker() as session:
        row = await session.get(AnswerCalibration, collection)
        if row is None:
            return None
        return Calibration(
            bar=row.bar,
            answerable=row.answerable,
            out_of_scope=row.out_of_scope,
            answered=row.answered,
            right_first=row.right_first,
            declined_out=row.declined_out,
            source=row.source,
            fitted_at=row.fitted_at,
        )


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
