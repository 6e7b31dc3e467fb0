"""A hit's sentences scored against the question: the sentence that answers a question is
closer to it than the passage around it, so it says which passage and which sentence answer
(`knowledge.passages.units`, `Hit.sentences`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from knowledge.base import KnowledgeBase
from knowledge.passages import paragraphs, units

CONTACT = """# Contact

## Opening hours and contact

Our Customer Service Centre at Norbridge Central station is open from 08:00 to 20:00 on
weekdays and from 09:00 to 17:00 on Saturdays. It is closed on Sundays and bank holidays.
You can buy folding helmets, top up a card or ask about your account there.

Call our customer service line on 0345 600 1122. Lines are open from 08:00 to 20:00 every day.
"""


async def test_the_sentence_that_answers_scores_above_its_passage(kb: KnowledgeBase, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "contact.md").write_text(CONTACT, encoding="utf-8")
    await kb.ingest([docs], trigger="test")

    [hit] = await kb.search("what's the number to ring customer services", 1)

    best = max(hit.sentences, key=lambda sentence: sentence.relevance)
    assert best.text == "Call our customer service line on 0345 600 1122."
    assert hit.sentence_relevance == pytest.approx(best.relevance)
    assert hit.sentence_relevance is not None and hit.sentence_relevance > hit.relevance + 0.05
    assert [sentence.text for sentence in hit.sentences] == list(units(hit.text))  # in the chunk's order


async def test_a_chunks_sentences_go_through_the_model_once(
    kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "contact.md").write_text(CONTACT, encoding="utf-8")
    await kb.ingest([docs], trigger="test")
    calls: list[list[str]] = []
    model = kb.embedder.encode

    def counting(texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        calls.append(list(texts))
        return model(texts, batch_size=batch_size)

    monkeypatch.setattr(kb.embedder, "encode", counting)

    first = await kb.search("are you open on sundays", 1)
    second = await kb.search("is the station office open at the weekend", 1)
    third = kb.search_sync("can I buy a helmet", 1)

    sentences = list(units(first[0].text))
    in_section = [f"Opening hours and contact: {sentence}" for sentence in sentences]  # what it is about
    assert [sorted(call) for call in calls] == [
        ["are you open on sundays"],
        sorted(in_section),  # once, in the search's next batch
        ["is the station office open at the weekend"],
        ["can I buy a helmet"],
    ]
    assert [s.text for s in second[0].sentences] == [s.text for s in third[0].sentences] == sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "# Prices\n\n| Plan | Price | Notes |\n|---|---|---|\n| Yearly | £99 | paid once |\n| Day pass | £5 | |\n",
            ["Plan: Yearly; Price: £99; Notes: paid once", "Plan: Day pass; Price: £5"],
        ),
        (
            "## Steps\n\nTo cancel:\n\n1. Open the app.\n2. Tap Account,\n   then Membership.\n\nExceptions:\n",
            ["Open the app.", "Tap Account, then Membership."],
        ),
        (
            "A hard-wrapped sentence from a converted\nPDF is one sentence. A second one follows here.",
            ["A hard-wrapped sentence from a converted PDF is one sentence.", "A second one follows here."],
        ),
    ],
    ids=["table rows as header: cell", "list items, headings and short lines left out", "wrapped lines joined"],
)
def test_units_are_sentences_items_and_rows(text: str, expected: list[str]) -> None:
    assert list(units(text)) == expected


async def test_an_faq_entry_and_a_whole_document_are_matched_without_their_sentences(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    """An FAQ entry is headed by the question it answers, and a document without sections (a
    forum thread) by what the whole of it answers: a sentence deep in either matches questions it
    does not answer, so only a section's sentences are scored and count in its match."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "faq.md").write_text(
        "# FAQ\n\n## Do I have to wear a helmet?\n\nA helmet is not required by law. Folding helmets are sold for £15.\n",
        encoding="utf-8",
    )
    (docs / "thread.md").write_text(
        "# Strikethrough with GitHub Markdown\n\nWrap the words in two tildes on each side, like ~~this~~.\n",
        encoding="utf-8",
    )
    (docs / "contact.md").write_text(CONTACT, encoding="utf-8")
    await kb.ingest([docs], trigger="test")

    faq = (await kb.search("can I buy a helmet", 1))[0]
    thread = (await kb.search("how do I strike through words", 1))[0]
    contact = (await kb.search("what's the number to ring customer services", 1))[0]

    assert (faq.section, thread.section, contact.section) == (
        "Do I have to wear a helmet?",
        "Strikethrough with GitHub Markdown",
        "Opening hours and contact",
    )
    assert faq.sentences == thread.sentences == ()
    assert faq.sentence_relevance is None and thread.sentence_relevance is None
    assert contact.sentence_relevance == max(s.relevance for s in contact.sentences)


TIMETABLE = """Day,Start,End,Session
Monday,06:30,09:00,Early lane swim
Monday,09:00,12:00,Public swim
Tuesday,09:30,11:30,Over 50s swim
Wednesday,19:30,20:30,Women-only swim
Thursday,12:00,13:30,Adults only swim
Saturday,14:00,15:30,Family fun session with the inflatable
"""


async def test_a_whole_tables_rows_count_in_its_match(kb: KnowledgeBase, tmp_path: Path) -> None:
    """A table's row is a fact that stands by itself, so a timetable that is a whole document (a
    CSV file: its section is its title) is matched by its closest row, as a section is by its
    closest sentence; its prose, had it any, would still not count."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "pool-timetable.csv").write_text(TIMETABLE, encoding="utf-8")
    await kb.ingest([docs], trigger="test")

    [hit] = await kb.search("when is the ladies only swim", 1)

    assert hit.section == hit.title  # a whole document
    best = max(hit.sentences, key=lambda sentence: sentence.relevance)
    assert best.text == "Day: Wednesday; Start: 19:30; End: 20:30; Session: Women-only swim"
    assert hit.sentence_relevance is not None and hit.sentence_relevance > hit.relevance + 0.05
    assert [s.text for s in hit.sentences] == list(units(hit.text, tables_only=True))


def test_tables_only_leaves_a_passages_prose_and_lists_out() -> None:
    text = "Prices from April.\n\n| Plan | Price |\n|---|---|\n| Yearly | £99 |\n\n- Paid once a year\n"
    assert list(units(text, tables_only=True)) == ["Plan: Yearly; Price: £99"]


def test_labelled_lines_stay_lines_and_are_scored_as_before() -> None:
    """A paragraph whose every line is labelled (a converted JSON record) keeps its lines for the
    quote; the search scores it as the sentences it always was."""
    record = "code: BD-4012\nhttp_status: 409\nmeaning: Every seat is in use. Buy more seats."
    assert paragraphs(record) == [("fields", None, record)]
    assert units(record) == ("code: BD-4012 http_status: 409 meaning: Every seat is in use.", "Buy more seats.")
    assert paragraphs("Our office is open\nMonday to Friday: 9am to 5pm.")[0][0] == "prose"
