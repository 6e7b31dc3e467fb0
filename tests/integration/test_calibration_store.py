"""The operator's calibration kept per knowledge collection, on SQLite and PostgreSQL: saved
again it replaces the last, and a process's cache reads what another process saved."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.answering.calibration import Calibration
from core.store.calibrations import CalibrationCache, load, save

LEARNED = Calibration(
    bar=0.42,
    answerable=87,
    out_of_scope=14,
    answered=0.954,
    right_first=0.851,
    declined_out=0.571,
    source="ours.jsonl",
    fitted_at=datetime(2026, 11, 25, 7, 30, tzinfo=UTC),
)


async def test_a_calibration_is_kept_per_collection_and_replaced_when_learned_again(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    assert await load(sessionmaker, "knowledge") is None
    cache = CalibrationCache(sessionmaker, "knowledge")
    assert await cache.fresh() is None
    await save(sessionmaker, "knowledge", LEARNED)
    assert await load(sessionmaker, "knowledge") == LEARNED
    assert await load(sessionmaker, "other") is None
    again = dataclasses.replace(LEARNED, bar=0.47, declined_out=None, source="theirs.jsonl")
    await save(sessionmaker, "knowledge", again)
    assert await load(sessionmaker, "knowledge") == again
    assert await CalibrationCache(sessionmaker, "knowledge").fresh() == again
