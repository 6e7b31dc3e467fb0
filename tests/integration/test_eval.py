"""`supporthub eval` as a user runs it, on a tiny corpus whose figures are known in advance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.answering.answer_eval import outcome
from core.messages import Citation, Reply
from knowledge.evaluation import (
    EvalFileError,
    documents,
    parse_questions,
    rank_of,
    retrieval_scores,
    source_matches,
)
from tests.integration.test_cli import run

CORPUS = {
    "refunds.md": "# Refunds\n\n## Annual plans\n\nAnnual plans are refunded pro rata within 30 days of purchase. "
    "Write to billing with your invoice number.\n",
    "errors.csv": "question,answer\nWhat is error QX-981?,QX-981 means your seat limit is reached.\n",
    "hours.md": "# Support hours\n\nOur support staff answers Monday to Friday, 07:00-19:00 UTC.\n",
}
QUESTIONS = [
    {"question": "can I get a refund for my annual plan?", "expected_source": "refunds.md"},
    {"question": "what does error QX-981 mean", "expected_source": "docs/errors.csv"},
    {"question": "how do I cook rice in a pressure cooker?", "expected_source": None},
]


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding the tiny corpus (ingested once for the module)."""
    root = tmp_path_factory.mktemp("eval")
    docs = root / "docs"
    docs.mkdir()
    for name, text in CORPUS.items():
        (docs / name).write_text(text, encoding="utf-8")
    data = root / "data"
    result = run("ingest", "--no-progress", str(docs), data_dir=data)
    assert result.exit_code == 0, result.stderr
    return data


def write_lines(path: Path, rows: list[object]) -> Path:
    path.write_text(
        "".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows), encoding="utf-8"
    )
    return path


def test_json_figures_of_a_tiny_case(indexed: Path, tmp_path: Path) -> None:
    questions = write_lines(tmp_path / "q.jsonl", QUESTIONS)
    result = run("eval", str(questions), "--json", data_dir=indexed)
    assert result.exit_code == 0, result.stderr
    figures = json.loads(result.stdout)
    assert (figures["k"], figures["questions"], figures["answerable"], figures["unanswerable"]) == (5, 3, 2, 1)
    # both answerable questions find their document first, whichever way one searches
    for retriever in ("dense", "bm25", "fused"):
        assert figures["retrieval"][retriever] == {"hit@1": 1.0, "hit@k": 1.0, "mrr@k": 1.0}, retriever
    assert figures["responder"] == {
        "top_k": 5,
        "bar": 0.55,
        "bar_source": "answer.min_match",
        "answerable_right_source": 1.0,
        "answerable_wrong_citation": 0.0,
        "answerable_declined": 0.0,
        "unanswerable_declined": 1.0,
        "with_expected_answer": 0,
        "right_answer": None,
    }
    assert figures["held_out"] == 0


def test_an_answer_is_judged_by_its_text_apart_from_its_source(indexed: Path, tmp_path: Path) -> None:
    """The right document cited first is not yet the right answer: the reply must hold the
    expected text. Held-out lines are summed up on their own."""
    refund = "can I get a refund for my annual plan?"
    questions = write_lines(
        tmp_path / "q.jsonl",
        [
            {"question": refund, "expected_source": "refunds.md", "expected_answer": ["30 DAYS", "pro  rata"]},
            {"question": refund, "expected_source": "refunds.md", "expected_answer": "60 days", "held_out": True},
            {"question": "how do I cook rice in a pressure cooker?", "expected_source": None, "held_out": True},
        ],
    )
    figures = json.loads(run("eval", str(questions), "--json", data_dir=indexed).stdout)
    assert figures["responder"]["answerable_right_source"] == 1.0
    assert (figures["responder"]["with_expected_answer"], figures["responder"]["right_answer"]) == (2, 0.5)
    assert figures["held_out"] == 2

    table = run("eval", str(questions), data_dir=indexed).stdout.splitlines()
    assert any(
        line.startswith("answerable: expected answer in the reply") and line.split()[-2:] == ["0.500", "1/2"]
        for line in table
    )
    assert table[-1] == (
        "held-out lines (2, kept out of calibration): answered 1.000, expected source first 1.000, "
        "expected answer 0.000, "
        "unanswerable declined 1.000"
    )


def test_table_and_k(indexed: Path, tmp_path: Path) -> None:
    # a question only BM25 misses (no shared word) and one nothing can miss, at k=1
    questions = write_lines(
        tmp_path / "q.jsonl",
        [
            {"question": "when is your team available?", "expected_source": "hours.md"},
            QUESTIONS[1],
        ],
    )
    result = run("eval", str(questions), "--k", "1", data_dir=indexed)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "2 questions: 2 answerable, 0 unanswerable"
    assert lines[2].split() == ["search", "(answerable)", "hit@1", "hit@1", "MRR@1"]
    rows = {line[:20].strip(): line[20:].split() for line in lines[3:6]}
    assert rows["dense only"] == ["1.000", "1.000", "1.000"]
    assert rows["BM25 only"] == ["0.500", "0.500", "0.500"]
    assert rows["fused (product)"] == ["1.000", "1.000", "1.000"]
    assert any(line.startswith("unanswerable: declined") and line.split()[-2:] == ["n/a", "0/0"] for line in lines)
    # columns line up: every figure of the search table ends at the same place
    assert len({len(line) for line in lines[2:6]}) == 1


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([QUESTIONS[0], "", "{not json"], "line 3: not valid JSON"),
        ([QUESTIONS[0], {"expected_source": None}], "line 2: missing 'question'"),
        ([{"question": ["a"], "expected_source": None}], "line 1: 'question' must be a string, got a list"),
        ([QUESTIONS[2], {"question": "x", "expected_source": 7}], "line 2: 'expected_source' must be a string or null"),
        ([{"question": "x"}], "line 1: missing 'expected_source'"),
        (
            [{"question": "x", "expected_source": None, "expected_answer": "y"}],
            "line 1: 'expected_answer' needs an 'expected_source'",
        ),
        (
            [{"question": "x", "expected_source": "a.md", "expected_answer": [1]}],
            "line 1: 'expected_answer' must be a string or a list of strings",
        ),
        (
            [{"question": "x", "expected_source": "a.md", "expected_answer": [" "]}],
            "line 1: 'expected_answer' is empty",
        ),
        ([{"question": "x", "expected_source": "a.md", "held_out": "yes"}], "line 1: 'held_out' must be true or false"),
        ([{"question": "x", "expected_source": "a.md", "answer": "y"}], "line 1: unknown key 'answer' (allowed:"),
        (["[1, 2]"], "line 1: expected a JSON object, got a list"),
        ([], "no questions in the file"),
    ],
)
def test_a_bad_line_is_a_usage_error_naming_it(tmp_path: Path, rows: list[object], message: str) -> None:
    questions = write_lines(tmp_path / "bad.jsonl", rows)
    result = run("eval", str(questions), data_dir=tmp_path / "data")
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_an_expected_source_not_in_the_index_is_a_usage_error(indexed: Path, tmp_path: Path) -> None:
    questions = write_lines(tmp_path / "q.jsonl", [QUESTIONS[0], {"question": "x?", "expected_source": "refund.md"}])
    result = run("eval", str(questions), data_dir=indexed)
    assert result.exit_code == 2
    assert "line 2: expected_source 'refund.md' matches no indexed document" in result.stderr
    assert "Traceback" not in result.stderr


def test_source_matching_is_by_whole_path_components() -> None:
    assert source_matches("reset-your-password.md", "config/knowledge/reset-your-password.md")
    assert source_matches("knowledge/reset-your-password.md", "config/knowledge/reset-your-password.md")
    assert source_matches("config/knowledge/faq.csv", "config/knowledge/faq.csv")
    assert not source_matches("password.md", "config/knowledge/reset-your-password.md")
    assert not source_matches("other/faq.csv", "config/knowledge/faq.csv")
    assert source_matches("faq.csv", "C:\\help\\faq.csv")


def test_documents_ranks_and_scores() -> None:
    chunks = ["a.md", "a.md", "b.md", "a.md", "c.md", "d.md"]
    assert documents(chunks, 3) == ["a.md", "b.md", "c.md"]
    assert rank_of("c.md", documents(chunks, 3)) == 3
    assert rank_of("d.md", documents(chunks, 3)) is None
    scores = retrieval_scores([1, 2, None, 4], k=5)
    assert scores is not None
    assert (scores.hit_at_1, scores.hit_at_k, scores.mrr_at_k) == (0.25, 0.75, (1 + 0.5 + 0.25) / 4)
    assert retrieval_scores([], k=5) is None


def test_reply_outcomes() -> None:
    cite = Citation(source="kb/a.md", title="A", section="A", score=0.9)
    assert outcome(Reply("...", citations=(cite,)), "a.md") == "right"
    assert outcome(Reply("...", citations=(cite,)), "b.md") == "wrong"
    assert outcome(Reply("hi!"), "a.md") == "wrong"
    assert outcome(Reply("...", handoff=True), "a.md") == "declined"
    assert outcome(Reply("...", handoff=True), None) == "declined"
    assert outcome(Reply("...", citations=(cite,)), None) == "wrong"


def test_parse_questions_skips_blank_lines_and_reads_bytes() -> None:
    parsed = parse_questions(
        [
            b'\xef\xbb\xbf{"question": " hi ", "expected_source": null}\n',
            b"\n",
            b'{"question": "q", "expected_source": "a.md"}',
        ]
    )
    assert [(q.line, q.question, q.expected_source) for q in parsed] == [(1, "hi", None), (3, "q", "a.md")]
    with pytest.raises(EvalFileError, match="line 2: not UTF-8"):
        parse_questions([b'{"question": "q", "expected_source": null}', b"\xff\xfe"])
