"""The traffic bench fails a run more than 10 % worse than its recorded budget, either way a
figure can get worse, and only then."""

from __future__ import annotations

from tests.bench.traffic_budget import figures_of, load, over_budget

BUDGET = {"recorded": "a test", "SQLite": {"share_of_floor": 0.40, "alone_p50_in_floor_questions": 3.0}}


def test_a_rate_share_within_ten_percent_keeps_to_the_budget_and_one_past_it_does_not() -> None:
    assert over_budget({"SQLite": {"share_of_floor": 0.37}}, BUDGET) == []
    [line] = over_budget({"SQLite": {"share_of_floor": 0.35}}, BUDGET)
    assert line.startswith("SQLite share_of_floor: 0.35, recorded 0.4")


def test_a_lone_message_slower_by_more_than_ten_percent_is_over_budget() -> None:
    assert over_budget({"SQLite": {"alone_p50_in_floor_questions": 3.2}}, BUDGET) == []
    assert len(over_budget({"SQLite": {"alone_p50_in_floor_questions": 3.4}}, BUDGET)) == 1


def test_figures_are_taken_against_the_floor_of_the_same_run() -> None:
    measured = {
        "encode_rate": 400.0,  # 2 cores: 5 ms of CPU a question
        "SQLite": {"loaded": {"rate": 160.0}, "alone": {"p50_ms": 15.0}},
    }
    assert figures_of(measured) == {"SQLite": {"share_of_floor": 0.4, "alone_p50_in_floor_questions": 3.0}}


def test_the_checked_in_budget_names_both_databases() -> None:
    budget = load()
    assert {"SQLite", "PostgreSQL"} <= budget.keys()
