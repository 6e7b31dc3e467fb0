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
        # NUL (refused by PostgreSQL) and lone surrogates (not encodable) are refused
        ('{"type":"message","id":"x","text":"a\\u0000b"}', FrameError("text holds a NUL or an invalid character")),
        ('{"type":"message","id":"x","text":"a\\ud800"}', FrameError("text holds a NUL or an invalid character")),
        ('{"type":"message","id":"x","text":"\\udfff"}', FrameError("text holds a NUL or an invalid character")),
        ('{"type":"message","id":"x","text":"\\ud83d\\ude00"}', ClientMessage(client_id="x", text="\U0001f600")),
        ('{"type":"hello","token":"t\\u0000k"}', FrameError("token holds a NUL or an invalid character")),
        ('{"type":"hello","token":"t\\ud800"}', FrameError("token holds a NUL or an invalid character")),
        # after fits the 32-bit message id column
        ('{"type":"hello","after":2147483647}', Hello(token=None, after=2**31 - 1)),
        ('{"type":"hello","after":2147483648}', FrameError("after must be an integer from 0 to 2147483647")),
        ('{"type":"hello","after":' + "9" * 30 + "}", FrameError("after must be an integer from 0 to 2147483647")),
        ('{"type":"hello","after":-1}', FrameError("after must be an integer from 0 to 2147483647")),
    ],
)
def test_parse_frame(raw: str, expected: object) -> None:
    assert parse_frame(raw, max_text_length=5) == expected


@pytest.mark.parametrize("prefix", ["", '{"type":"message","id":"x","text":"hi","extra":'])
def test_deeply_nested_json_is_an_error_not_a_recursion_error(prefix: str) -> None:
    raw = prefix + "[" * 40000 + "]" * 40000 + ("}" if prefix else "")
    assert parse_frame(raw, max_text_length=5) == FrameError("frame nested too deeply")


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
