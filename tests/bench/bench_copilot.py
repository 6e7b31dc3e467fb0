"""The copilot's suggested replies on handed-over cases (issue 60, item 3), run with:

    python -m tests.bench.bench_copilot

Twenty cases on the sample help centre, each a customer who asked a question with a known
answer and then wanted a person. The questions are config/eval/sample-questions.jsonl's
held-out lines (kept out of every calibration), the first such line of each expected document
in the file's order, for the first 20 documents that have one; they were chosen so before the
copilot was run on them, and nothing in it was changed after. Each becomes a conversation in
the hub's database, in one of two shapes taken in turn:

1. the question; the bot's decline and offer of a person; then a request for a person (four
   wordings in turn), stored with the intent the hub gives it (`asks_for_person`);
2. one message: the question, then "Can I talk to a person about it?".

The case's suggestions are what its inbox page shows (`copilot.asked_on_case`, then
`Copilot.suggest`, with no canned replies: the sample has none). A case counts when a
help-centre suggestion comes from the expected document. Beside it, the plain search's top
three passages (`KnowledgeBase.search(k=3)`): of the question as the eval file writes it (a
search that was told the question), and of the customer's last message (what a search box given
the conversation's end would get).
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.answering.sentiment import asks_for_person
from core.handoff.copilot import Copilot, SuggestionKind, asked_on_case
from core.store.case_tables import Case, CaseState
from core.store.db import Contact, Conversation, Message, make_sessionmaker, utcnow
from knowledge.base import KnowledgeBase
from knowledge.embedding.embedder import Embedder
from knowledge.evaluation import EvalQuestion, load_questions, source_matches
from knowledge.settings import KnowledgeSettings
from tests.bench.bench_retrieval import open_kb
from tests.bench.calibrate_answers import ROOT

CASES = 20
TARGET = 16
ASKING_FOR_A_PERSON = (
    "yes please, I'd like to talk to a person",
    "can I speak to someone from your team?",
    "that doesn't help. I want a human",
    "please put me through to an agent",
)
DECLINED = "I couldn't find that in our help centre. Would you like me to bring in a person?"


def chosen() -> list[EvalQuestion]:
    """The first held-out answerable line of each expected document, for the first `CASES` documents."""
    first: dict[str, EvalQuestion] = {}
    for line in load_questions(ROOT / "config" / "eval" / "sample-questions.jsonl"):
        if line.held_out and line.expected_source is not None:
            first.setdefault(line.expected_source, line)
    return list(first.values())[:CASES]


def conversation(n: int, question: str) -> list[tuple[str, str]]:
    """The customer's (and the bot's) messages before case `n` opened: (author, text)."""
    if n % 2 == 0:
        person = ASKING_FOR_A_PERSON[(n // 2) % len(ASKING_FOR_A_PERSON)]
        return [("customer", question), ("bot", DECLINED), ("customer", person)]
    return [("customer", f"{question.rstrip('?')}? Can I talk to a person about it?")]


async def _open_case(sessionmaker: async_sessionmaker[AsyncSession], n: int, said: list[tuple[str, str]]) -> str:
    start, case_id = utcnow() - timedelta(hours=1), f"case{n:02d}"
    async with sessionmaker.begin() as session:
        session.add(Contact(id=f"c{n}"))
        session.add(Conversation(id=f"conv{n}", contact_id=f"c{n}", channel="web", chat_id=f"chat{n}"))
        await session.flush()
        for minute, (author, text) in enumerate(said):
            intent = ("human_request" if asks_for_person(text) else "question") if author == "customer" else None
            session.add(
                Message(
                    conversation_id=f"conv{n}",
                    channel="web",
                    author=author,
                    text=text,
                    intent=intent,
                    created_at=start + timedelta(minutes=minute),
                )
            )
        session.add(
            Case(
                id=case_id,
                conversation_id=f"conv{n}",
                state=CaseState.WAITING,
                rule="human_request",
                reason="The customer asked for a person.",
                opened_at=start + timedelta(minutes=len(said)),
            )
        )
    return case_id


@dataclass(frozen=True, slots=True)
class Row:
    question: str
    expected: str
    copilot: list[str]
    """The help-centre suggestions' sources, in order."""
    plain: list[str]
    last_message: list[str]


async def _run(root: Path, embedder: Embedder) -> list[Row]:
    kb, engine = await open_kb(root, embedder)
    await kb.ingest([ROOT / "config" / "knowledge"], trigger="bench")
    sessionmaker = make_sessionmaker(engine)
    copilot = Copilot(kb)
    rows = []
    for n, line in enumerate(chosen()):
        said = conversation(n, line.question)
        case_id = await _open_case(sessionmaker, n, said)
        async with sessionmaker() as session:
            asked = await session.run_sync(asked_on_case, case_id)
        assert asked is not None
        suggestions = await copilot.suggest(asked, agent="Bench")
        rows.append(
            Row(
                line.question,
                line.expected_source or "",
                [s.source for s in suggestions if s.kind is SuggestionKind.HELP_CENTRE],
                await _sources(kb, line.question),
                await _sources(kb, said[-1][1]),
            )
        )
    await kb.aclose()
    await engine.dispose()
    return rows


async def _sources(kb: KnowledgeBase, query: str) -> list[str]:
    return [hit.source for hit in await kb.search(query, 3)]


def run(*, embedder: Embedder | None = None) -> list[Row]:
    embedder = embedder or Embedder.load(KnowledgeSettings())
    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(_run(Path(tmp), embedder))


def _found(row: Row, sources: list[str]) -> bool:
    return any(source_matches(row.expected, source) for source in sources)


def report(rows: list[Row]) -> str:
    counts: dict[str, Any] = {
        "copilot's suggestions (at most 3)": sum(_found(row, row.copilot) for row in rows),
        "plain search, top 3, of the question": sum(_found(row, row.plain) for row in rows),
        "plain search, top 3, of the last message": sum(_found(row, row.last_message) for row in rows),
    }
    lines = [f"{len(rows)} handed-over cases with a known answer: the right document's passage among"]
    lines += [f"  {label:44}{count:>3}/{len(rows)}" for label, count in counts.items()]
    lines.append(f"  target: the copilot's at least {TARGET}/{CASES}")
    missed = [row for row in rows if not _found(row, row.copilot)]
    if missed:
        lines.append("  missed by the copilot:")
        lines += [
            f"    {row.question!r} (wanted {row.expected}; offered {', '.join(row.copilot) or 'nothing'})"
            for row in missed
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(run()))
