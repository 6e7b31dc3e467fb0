"""The web channel's pure translation: client frames in, stored messages out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from channels.web import (
    ClientMessage,
    FrameError,
    Hello,
    SessionTokens,
    message_frame,
    parse_frame,
)
from core.messages import Author, Citation, StoredMessage


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"type":"hello","token":null,"after":0}', Hello(token=None, after=0)),
        ('{"type":"hello","token":"t.k","after":41}', Hello(token="t.k", after=41)),
        ('{"type":"hello"}', Hello(token=None, after=0)),
        ('{"type":"hello","token":7}', FrameError("token must be a string or null")),
        ('{"type":"message","id":"4f1c-9a_B","text":" hi \\n"}', ClientMessage(client_id="4f1c-9a_B", text="hi")),
        ('{"type":"message","id":"' + "a" * 101 + '","text":"hi"}',
         FrameError("id must be 1-100 characters of [A-Za-z0-9_-]")),
        ('{"type":"message","id":"","text":"hi"}', FrameError("id must be 1-100 characters of [A-Za-z0-9_-]")),
        ('{"type":"message","id":"x","text":"12345"}', ClientMessage(client_id="x", text="12345")),
        ('{"type":"message","id":"x","text":"123456"}', FrameError("text longer than 5 characters")),
        ('{"type":"message","id":"x"}', FrameError("text must be a string")),
        ("null", FrameError("a frame must be a JSON object")),
        ("{", FrameError("not JSON")),
        ('{"type":null}', FrameError("missing frame type")),
    ],
)
def test_parse_frame(raw: str, expected: object) -> None:
    assert parse_frame(raw, max_text_length=5) == expected


def test_message_frame_carries_citations_handoff_and_an_iso_time() -> None:
    stored = StoredMessage(
        id=9,
        conversation_id="c",
        author=Author.BOT,
        text="Try **this**",
        citations=(Citation("https://help.example/reset", "Reset your password", "Steps", 0.5),),
        handoff=True,
        created_at=datetime(2025, 5, 6, 7, 8, 9, tzinfo=UTC),
    )
    assert message_frame(stored) == {
        "type": "message",
        "id": 9,
        "author": "bot",
        "text": "Try **this**",
        "citations": [{"source": "https://help.example/reset", "title": "Reset your password", "section": "Steps", "score": 0.5}],
        "handoff": True,
        "created_at": "2025-05-06T07:08:09+00:00",
    }
    assert message_frame(stored, client_id="u-1")["client_id"] == "u-1"


def test_session_tokens_round_trip_and_are_unique() -> None:
    tokens = SessionTokens("secret")
    (sid_a, token_a), (sid_b, token_b) = tokens.issue(), tokens.issue()
    assert sid_a != sid_b and token_a != token_b
    assert tokens.verify(token_a) == sid_a
    assert tokens.verify(token_a + "x") is None
    assert tokens.verify(None) is None
    assert SessionTokens("other").verify(token_a) is None
