"""Re-ingesting 1,000 unchanged documents: content hashes must make it nearly free."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from core.ops.runtime import open_database
from core.settings import Settings
from knowledge.base import KnowledgeBase
from knowledge.settings import KnowledgeSettings

DOCUMENTS = 1000


def write_documents(threads: Sequence[dict[str, Any]], directory: Path) -> None:
    """1,000 short articles: each StackFAQ paraphrase (cycled) as a title over its thread's first answer."""
    directory.mkdir(parents=True, exist_ok=True)
    pairs = [(q, t["answer"][0]) for t in threads for q in t["queries"] if t["answer"]]
    for i in range(DOCUMENTS):
        question, answer = pairs[i % len(pairs)]
        (directory / f"article-{i:04d}.md").write_text(f"# {question} ({i})\n\n{answer}\n", encoding="utf-8")


async def _measure(root: Path) -> dict[str, float]:
    docs = root / "docs"
    settings = Settings(data_dir=root / "data", knowledge=KnowledgeSettings(paths=[docs]))
    async with open_database(settings) as (_, sessionmaker):
        kb = await asyncio.to_thread(
            partial(KnowledgeBase.open, settings.knowledge, data_dir=settings.data_dir, sessionmaker=sessionmaker)
        )
        try:
            first = await kb.ingest([docs], trigger="bench")
            started = time.perf_counter()
            again = await kb.reindex([docs], trigger="bench")
            seconds = time.perf_counter() - started
        finally:
            await kb.aclose()
    return {
        "documents": float(first.added),
        "unchanged": float(again.unchanged),
        "embedded_again": float(again.chunks_embedded),
        "seconds": seconds,
    }


def run(threads: Sequence[dict[str, Any]]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        write_documents(threads, Path(tmp) / "docs")
        return asyncio.run(_measure(Path(tmp)))


def report(figures: dict[str, float]) -> str:
    return (
        f"re-ingest of {figures['unchanged']:.0f} unchanged documents: {figures['seconds']:.2f} s, "
        f"{figures['embedded_again']:.0f} chunks embedded again (target < 2 s, 0 embedded)"
    )
