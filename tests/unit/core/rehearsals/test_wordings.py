"""The other wordings a turn is tried in: each changes the text, the same way on every run."""

from __future__ import annotations

from core.rehearsals.script import Rehearsal
from core.rehearsals.wordings import shorter, typo, variants, with_preamble


def test_each_wording_changes_the_question_as_a_customer_might() -> None:
    assert typo("How do I reset my password?") == "How do I reset my paswsord?"
    assert with_preamble("How do I reset my password?") == "Hi there, quick question: how do I reset my password?"
    assert shorter("Hi, could you please tell me how I reset my password?") == "how I reset my password?"


def test_each_variant_changes_one_turn_and_keeps_the_others() -> None:
    rehearsal = Rehearsal.model_validate(
        {"name": "r", "turns": [{"customer": "Could you tell me how I reset my password?"}, {"customer": "ok"}]}
    )
    found = variants(rehearsal)
    assert [name.split(":")[0] for name, _ in found] == [
        "turn 1, typo",
        "turn 1, preamble",
        "turn 1, shorter",
        "turn 2, preamble",
    ]
    for _, changed in found:
        differing = [a.customer != b.customer for a, b in zip(changed.turns, rehearsal.turns, strict=True)]
        assert differing.count(True) == 1
    assert variants(rehearsal) == found
