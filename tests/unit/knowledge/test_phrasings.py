"""A passage's question lines: which lines they are, how a search scores them, the floor they
give the help centre, and that they live with the index version."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.store.db import make_sessionmaker
from knowledge.base import KnowledgeBase
from knowledge.search.phrasings import MAX_PER_CHUNK, MIN_FLOOR_LINES, Phrasings, phrasings
from knowledge.settings import KnowledgeSettings

ASKED = """# Alarms: what is set

What people ask about alarms:

- what alarms do I have set for tomorrow
- is there an alarm at seven am
- **please** tell me my alarms
- show me the alarms for the weekend
"""
STEPS = """# Exporting your data

1. Open **Settings > Data** and click **Export**.
2. Choose CSV or JSON.
3. The file arrives by email within an hour.

| Plan | Can export? |
| --- | --- |
| Free | no |

> Can a quote ask something?
"""


def test_the_lines_that_ask_are_a_passages_phrasings_and_steps_are_not() -> None:
    assert phrasings(ASKED) == [
        "what alarms do I have set for tomorrow",
        "is there an alarm at seven am",
        "please tell me my alarms",
        "show me the alarms for the weekend",
    ]
    assert phrasings(STEPS) == []
    assert phrasings("Some prose first.\nCan I pay by invoice?\n# Is a heading a phrasing?") == [
        "Can I pay by invoice?"
    ]


def test_a_long_list_gives_its_first_phrasings_once_each() -> None:
    lines = "\n".join(f"- how do I set alarm number {n}" for n in range(20))
    assert len(phrasings(lines + "\n" + lines)) == MAX_PER_CHUNK
    assert phrasings("- how do I reset it?\n- how do I reset it?") == ["how do I reset it?"]


def unit(*angles: float) -> np.ndarray:
    """Unit vectors in the plane at these angles (radians): their cosines are known."""
    return np.array([[np.cos(a), np.sin(a)] for a in angles], dtype=np.float32)


def test_the_floor_is_the_5th_percentile_of_how_alike_a_passages_own_questions_are() -> None:
    # passages of three phrasings at 0, 0.1 and 0.3 rad: each one's best other is 0.1 or 0.2 rad away
    per_passage = [0.0, 0.1, 0.3]
    passages = MIN_FLOOR_LINES // 3 + 1
    vectors = np.concatenate([unit(*per_passage) for _ in range(passages)])
    rows = [row for row in range(passages) for _ in per_passage]
    floor = Phrasings.build([f"q{i}" for i in range(len(rows))], vectors, rows).floor
    assert floor is not None and floor.lines == len(rows)
    assert floor.value == pytest.approx(np.cos(0.2), abs=1e-5)  # a third of them are 0.2 rad from their best


def test_too_few_question_lines_give_no_floor() -> None:
    two_per_passage = Phrasings.build(
        ["a", "b"] * 20, np.concatenate([unit(0, 0.1)] * 20), [r for r in range(20) for _ in (0, 1)]
    )
    assert two_per_passage.floor is None  # leave one out needs a third line to compare with
    few = Phrasings.build(["a", "b", "c"], unit(0, 0.1, 0.2), [0, 0, 0])
    assert few.floor is None


def test_a_query_scores_the_best_of_its_chunks_phrasings() -> None:
    found = Phrasings.build(["a", "b", "c"], unit(0.0, 1.0, 1.5), [0, 0, 2])
    assert found.relevance(0, unit(0.9)[0]) == pytest.approx(np.cos(0.1), abs=1e-5)
    assert found.relevance(1, unit(0.9)[0]) is None
    assert found.relevance(2, unit(1.5)[0]) == pytest.approx(1.0, abs=1e-5)


async def test_a_search_scores_a_passages_phrasings_and_the_help_centre_gets_its_floor(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    topics = ["alarms", "timers", "reminders", "the weather", "my calendar", "my music", "the lights"]
    for topic in topics:
        slug = topic.replace(" ", "-")
        (docs / f"{slug}.md").write_text(
            f"# About {topic}\n\nWhat people ask:\n\n- what are {topic} for today\n- show me {topic} now\n"
            f"- can you tell me about {topic}\n- please list {topic}\n",
            encoding="utf-8",
        )
    await kb.ingest([docs], trigger="test")

    (best, *_) = await kb.search("list every alarm I have", 3)
    assert best.source.endswith("alarms.md") and best.phrasing_relevance is not None
    assert best.phrasing_relevance > best.relevance  # question to question beats question to list
    floor = kb.paraphrase_floor
    assert floor is not None and floor.lines == 4 * len(topics) and 0 < floor.value < 1


async def test_an_index_published_before_phrasings_is_rebuilt_with_them_at_start_up(
    kb: KnowledgeBase, kb_engine: AsyncEngine, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "alarms.md").write_text(ASKED, encoding="utf-8")
    await kb.ingest([docs], trigger="test")
    local = kb.local.directory
    for version in local.glob("v-*"):  # as an older hub left it
        (version / "phrasings.json").unlink()
        (version / "phrasings.npy").unlink()
    await kb.aclose()

    reopened = KnowledgeBase.open(
        KnowledgeSettings(),
        data_dir=tmp_path / "data",
        sessionmaker=make_sessionmaker(kb_engine),
    )
    try:
        assert reopened.local.snapshot.phrasings is not None
        assert reopened.local.snapshot.phrasings.texts == tuple(phrasings(ASKED))
    finally:
        await reopened.aclose()


def test_a_plain_list_of_questions_one_per_line_gives_phrasings_and_wrapped_prose_does_not() -> None:
    listed = "# Card arrival\n\nhow long until my card arrives\nwhen will my card come\nwhere is my new card\n"
    assert phrasings(listed) == ["how long until my card arrives", "when will my card come", "where is my new card"]
    assert phrasings("how long until my card arrives\nwhen will my card come\n") == []  # two lines are no list
    wrapped = (
        "Brightdesk keeps the data you put in it safe, and\n"
        "how you use it is up to you: when you sign in\n"
        "we check your password and, if you turned it on,\n"
        "your second factor before anything is shown.\n"
    )
    assert phrasings(wrapped) == []
