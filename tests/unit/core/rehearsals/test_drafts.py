"""Drafts from what happened read back as rehearsals that expect what the bot did then."""

from __future__ import annotations

from pathlib import Path

from core.rehearsals.drafts import Said, from_conversation, from_question
from core.rehearsals.script import load


def read(tmp_path: Path, text: str) -> list[tuple[str, dict[str, object]]]:
    (tmp_path / "draft.yaml").write_text(text, encoding="utf-8")
    return [
        (turn.customer, turn.expect.model_dump(exclude_defaults=True)) for turn in load(tmp_path / "draft.yaml").turns
    ]


def test_a_handed_over_conversation_expects_the_hand_over_and_notes_who_replied(tmp_path: Path) -> None:
    messages = [
        Said("customer", "Where is my refund?"),
        Said("bot", "I've passed this conversation to a person.", handoff=True),
        Said("customer", "Any news?"),
        Said("staff", "Your refund left today: "),
        Said("customer", "How do I export my data?"),
        Said(
            "bot", "Open **Settings › Export**.", sources=("docs/exporting-your-data.md", "docs/exporting-your-data.md")
        ),
    ]
    draft = from_conversation("conversation 1 (2026-11-27)", "sms", messages, handed_over=True)
    assert "# a person replied: Your refund left today:" in draft
    assert read(tmp_path, draft) == [
        ("Where is my refund?", {"hands_over": True}),
        ("Any news?", {}),
        ("How do I export my data?", {"declines": False, "cites": ["exporting-your-data.md"]}),
    ]


def test_a_gap_draft_expects_its_question_answered(tmp_path: Path) -> None:
    assert read(tmp_path, from_question("can I pay: with paypal?")) == [
        ("can I pay: with paypal?", {"declines": False})
    ]
