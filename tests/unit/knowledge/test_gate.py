"""A re-index's gate: asked with the live version and the run's candidate before anything of the
run goes live; what it holds back leaves the live index searched as before, and the next run
does the work again."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.store.db import make_sessionmaker
from knowledge.base import KnowledgeBase
from knowledge.ingest.ingestor import HeldBack, Proposed
from knowledge.tables import IndexRun, KnowledgeDocument

RESET = "# Reset your password\n\n## Steps\n\nClick Forgot password on the sign-in page and follow the email.\n"
BROKEN = "# Reset your password\n\n## Our office\n\nOur office is open from nine to five on weekdays.\n"


async def content_hashes(engine: AsyncEngine) -> list[str]:
    async with make_sessionmaker(engine)() as session:
        return list((await session.scalars(select(KnowledgeDocument.content_hash))).all())


class Gate:
    """Holds back a candidate that no longer says "Forgot password"; records what it was shown."""

    def __init__(self) -> None:
        self.asked: list[tuple[Path | None, Path, bool]] = []
        self.shown: list[Proposed] = []

    async def __call__(self, proposed: Proposed) -> str | None:
        candidate = proposed.candidate
        says = "Forgot password" in (candidate / "chunks.jsonl").read_text(encoding="utf-8")
        self.asked.append((proposed.live, candidate, candidate.is_dir()))
        self.shown.append(proposed)
        return None if says else "the reset steps are gone"


async def test_what_the_gate_holds_back_never_goes_live_and_is_tried_again(
    kb: KnowledgeBase, kb_engine: AsyncEngine, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "reset.md").write_text(RESET, encoding="utf-8")
    gate = Gate()
    await kb.reindex([docs], trigger="first", gate=gate)
    first_live = kb.ingestor.local.current_version()
    first_hashes = await content_hashes(kb_engine)
    assert gate.asked == [(None, gate.asked[0][1], True)] and first_live is not None

    (docs / "reset.md").write_text(BROKEN, encoding="utf-8")
    with pytest.raises(HeldBack, match="the reset steps are gone"):
        await kb.reindex([docs], trigger="broken", gate=gate)
    live, candidate, existed = gate.asked[-1]
    assert live == first_live and existed and not candidate.exists()  # shown, then removed
    assert kb.ingestor.local.current_version() == first_live
    [hit, *_] = await kb.search("how do I reset my password", 3)
    assert "Forgot password" in hit.text
    async with make_sessionmaker(kb_engine)() as session:
        runs = (await session.scalars(select(IndexRun).order_by(IndexRun.id))).all()
    assert runs[-1].error is not None and "the reset steps are gone" in runs[-1].error
    broken = gate.shown[-1]  # what a gate records the run by: its row, its trigger and its changes
    assert (broken.run_id, broken.trigger, broken.removed) == (runs[-1].id, "broken", ())
    assert [Path(source).name for source in broken.changed] == ["reset.md"]
    assert await content_hashes(kb_engine) == first_hashes

    with pytest.raises(HeldBack):  # the table kept the live content: the next run does the work again
        await kb.reindex([docs], trigger="again", gate=gate)
    (docs / "reset.md").write_text(RESET.replace("sign-in page", "sign-in page (top right)"), encoding="utf-8")
    fixed = await kb.reindex([docs], trigger="fixed", gate=gate)
    assert fixed.changed == 1 and kb.ingestor.local.current_version() != first_live
    [hit, *_] = await kb.search("how do I reset my password", 3)
    assert "top right" in hit.text
