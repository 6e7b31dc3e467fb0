"""A rehearsal file a support lead wrote: read as written, or refused with the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.rehearsals.script import RehearsalFileError, load, load_all

SAMPLE = Path(__file__).resolve().parents[4] / "config" / "rehearsals"


def written(tmp_path: Path, text: str, name: str = "r.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_rehearsal_reads_as_written(tmp_path: Path) -> None:
    rehearsal = load(
        written(
            tmp_path,
            "turns:\n  - customer: Hi\n    language: de\n    expect:\n      says: Hallo\n      cites: [a.md, b.md]\n"
            "      hands_over: asked for a person\n      calls: {action: order_status, with: {order_number: '1234'}}\n",
        )
    )
    turn = rehearsal.turns[0]
    assert rehearsal.name == "r" and rehearsal.channel == "api" and rehearsal.staff == "none"
    assert turn.language == "de" and turn.expect.says == ["Hallo"] and turn.expect.cites == ["a.md", "b.md"]
    assert turn.expect.hands_over == "asked for a person"
    assert turn.expect.calls is not None and turn.expect.calls.with_ == {"order_number": "1234"}


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("turns: []\n", "turns"),
        ("turns:\n  - customer: hi\n    expect:\n      sayz: hello\n", "turns.0.expect.sayz"),
        ("turns:\n  - customer: hi\n    expect:\n      language: german\n", "turns.0.expect.language"),
        ("staff: sometimes\nturns:\n  - customer: hi\n", "staff"),
        ("turns:\n  - customer: hi\n    attachments: [missing.pdf]\n", "attachments: no file missing.pdf"),
        ("- just a list\n", "a mapping with name and turns"),
        ("turns: [\n", "while parsing"),
    ],
)
def test_a_file_that_cannot_be_read_names_the_file_and_the_key(tmp_path: Path, text: str, named: str) -> None:
    path = written(tmp_path, text)
    with pytest.raises(RehearsalFileError) as refused:
        load(path)
    assert str(refused.value).startswith(f"{path}: ") and named in str(refused.value)


def test_a_folder_holds_its_rehearsals_in_file_order_and_an_empty_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RehearsalFileError, match="no rehearsal files"):
        load_all(tmp_path)
    written(tmp_path, "name: second\nturns:\n  - customer: b\n", "b.yaml")
    written(tmp_path, "name: first\nturns:\n  - customer: a\n", "a.yml")
    written(tmp_path, "not a rehearsal", "notes.txt")
    assert [r.name for r in load_all(tmp_path)] == ["first", "second"]


def test_the_sample_rehearsals_all_read() -> None:
    assert len(load_all(SAMPLE)) >= 10
