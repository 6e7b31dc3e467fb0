"""The web channel's pure translation: client frames in, stored messages out."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from itsdangerous import URLSafeSerializer

from channels.web.frames import (
    ClientFeedback,
    ClientMessage,
    ClientRating,
    FrameError,
    Hello,
    message_frame,
    parse_frame,
    stream_frame,
)
from channels.web.sessions import SessionTokens
from core.messages import Attachment, Author, Citation, StoredMessage, SurveyPart
from core.streaming import CitationsReady, StreamDone, StreamReset, TextDelta


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"type":"hello","token":null,"after":0}', Hello(token=None, after=0)),
        ('{"type":"hello","token":"t.k","after":41}', Hello(token="t.k", after=41)),
        ('{"type":"hello"}', Hello(token=None, after=0)),
        ('{"type":"hello","token":7}', FrameError("token must be a string or null")),
        ('{"type":"message","id":"4f1c-9a_B","text":" hi \\n"}', ClientMessage(client_id="4f1c-9a_B", text="hi")),
        (
            '{"type":"message","id":"' + "a" * 101 + '","text":"hi"}',
            FrameError("id must be 1-100 characters of [A-Za-z0-9_-]"),
        ),
        ('{"type":"message","id":"","text":"hi"}', FrameError("id must be 1-100 characters of [A-Za-z0-9_-]")),
        ('{"type":"message","id":"x","text":"12345"}', ClientMessage(client_id="x", text="12345")),
        ('{"type":"message","id":"x","text":"123456"}', FrameError("text longer than 5 characters")),
        ('{"type":"message","id":"x"}', FrameError("text must be a string")),
        ("null", FrameError("a frame must be a JSON object")),
        ("{", FrameError("not JSON")),
        ('{"type":null}', FrameError("missing frame type")),
        # NUL (refused by PostgreSQL) and lone surrogates (not encodable) pass: the hub cleans
        # them out of every channel's messages (core.clean_text)
        ('{"type":"message","id":"x","text":"a\\u0000b"}', ClientMessage(client_id="x", text="a\x00b")),
        ('{"type":"message","id":"x","text":"a\\ud800"}', ClientMessage(client_id="x", text="a\ud800")),
        (
            '{"type":"message","id":"x","text":"red \\u001b[31m alert"}',
            FrameError("text holds control characters or invalid unicode"),
        ),
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
        reply_to=8,
    )
    assert message_frame(stored) == {
        "type": "message",
        "id": 9,
        "author": "bot",
        "text": "Try **this**",
        "citations": [
            {
                "source": "https://help.example/reset",
                "title": "Reset your password",
                "section": "Steps",
                "score": 0.5,
                "url": "https://help.example/reset",  # the source is itself an address: the widget links it
            }
        ],
        "handoff": True,
        "created_at": "2025-05-06T07:08:09+00:00",
        "reply_to": 8,
    }
    assert message_frame(stored, client_id="u-1")["client_id"] == "u-1"
    assert "survey" not in message_frame(stored)
    question = replace(stored, survey=SurveyPart.QUESTION)
    assert message_frame(question)["survey"] == "question"  # the widget shows the scale under it


def test_feedback_attachment_and_identity_frames_parse() -> None:
    assert parse_frame('{"type": "feedback", "message_id": 3, "rating": "up"}', max_text_length=10) == ClientFeedback(
        3, "up"
    )
    frame = parse_frame(
        '{"type": "message", "id": "a", "text": "", "attachments": [{"filename": "n.txt", "content_type": "text/plain", "data": "aGk="}]}',
        max_text_length=10,
    )
    assert isinstance(frame, ClientMessage) and frame.attachments == (Attachment("n.txt", "text/plain", b"hi"),)
    signature = "ab" * 32
    hello = parse_frame(
        f'{{"type": "hello", "token": null, "after": 0, "identity": {{"email": "a@b.c", "signature": "{signature}"}}}}',
        max_text_length=10,
    )
    assert hello == Hello(token=None, after=0, email="a@b.c", signature=signature)
    assert parse_frame('{"type": "rating", "message_id": 7, "score": 5}', max_text_length=10) == ClientRating(7, 5)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ('{"type": "feedback", "message_id": 0, "rating": "up"}', "message_id"),
        ('{"type": "feedback", "message_id": 3, "rating": "meh"}', "rating"),
        ('{"type": "rating", "message_id": 3, "score": 6}', "score must be an integer from 1 to 5"),
        ('{"type": "rating", "message_id": 3, "score": 4.0}', "score"),
        ('{"type": "rating", "message_id": 3, "score": true}', "score"),
        ('{"type": "rating", "message_id": "3", "score": 4}', "message_id"),
        ('{"type": "message", "id": "a", "text": "x", "attachments": [{"filename": "a", "data": "%%"}]}', "base64"),
        ('{"type": "message", "id": "a", "text": "x", "attachments": [{"data": "aGk="}]}', "filename"),
        ('{"type": "message", "id": "a", "text": "x", "attachments": [{}, {}]}', "at most 1"),
        ('{"type": "hello", "token": null, "after": 0, "identity": "me"}', "identity"),
        ('{"type": "hello", "token": null, "after": 0, "identity": {"email": "a@b.c", "signature": "\u00e9"}}', "hex"),
    ],
)
def test_bad_new_frames_name_the_problem(raw: str, reason: str) -> None:
    frame = parse_frame(raw, max_text_length=10)
    assert isinstance(frame, FrameError) and reason in frame.reason


def test_stream_events_become_frames_for_the_reply_they_belong_to() -> None:
    citation = Citation("a.md", "A", "S", 0.5)
    assert stream_frame(7, TextDelta("Hel")) == {"type": "delta", "reply_to": 7, "text": "Hel"}
    assert stream_frame(7, CitationsReady((citation,)))["citations"][0]["source"] == "a.md"
    assert stream_frame(7, StreamDone()) == {"type": "done", "reply_to": 7}
    assert stream_frame(7, StreamReset()) == {"type": "reset", "reply_to": 7}


DAY = 86400.0
NOW = 1_800_000_000.0


def test_session_tokens_round_trip_and_are_unique() -> None:
    tokens = SessionTokens("secret", max_age_s=30 * DAY)
    (sid_a, token_a), (sid_b, token_b) = tokens.issue("", None), tokens.issue("", None)
    assert sid_a != sid_b and token_a != token_b
    assert tokens.verify(token_a, "", None) == sid_a
    assert tokens.verify(token_a + "x", "", None) is None
    assert tokens.verify(None, "", None) is None
    assert SessionTokens("other", max_age_s=30 * DAY).verify(token_a, "", None) is None


@pytest.mark.parametrize(("age_days", "accepted"), [(0, True), (29.9, True), (30.1, False), (-1, False)])
def test_a_session_token_is_accepted_for_its_period_after_issue(age_days: float, accepted: bool) -> None:
    """Issued `age_days` ago (a negative age: issued by a clock a day ahead, past the skew allowed)."""
    session_id, token = SessionTokens("secret", max_age_s=30 * DAY, clock=lambda: NOW - age_days * DAY).issue("", None)
    verified = SessionTokens("secret", max_age_s=30 * DAY, clock=lambda: NOW).verify(token, "", None)
    assert verified == (session_id if accepted else None)


def test_a_session_token_works_only_from_the_origin_it_was_issued_to() -> None:
    tokens = SessionTokens("secret", max_age_s=30 * DAY)
    session_id, token = tokens.issue("https://shop.example", None)
    assert tokens.verify(token, "https://shop.example", None) == session_id
    assert tokens.verify(token, "https://evil.example", None) is None
    assert tokens.verify(token, "", None) is None


def test_a_signed_in_visitors_session_token_is_refused_to_anyone_else() -> None:
    """Dave signing in on the browser where Carol's token is stored, or somebody anonymous
    after her, starts a session of their own; Carol herself keeps hers."""
    tokens = SessionTokens("secret", max_age_s=30 * DAY)
    session_id, carols = tokens.issue("", "carol@example.com")
    assert tokens.verify(carols, "", "carol@example.com") == session_id
    assert tokens.verify(carols, "", "dave@example.com") is None
    assert tokens.verify(carols, "", None) is None


def test_an_anonymous_session_token_is_kept_by_a_visitor_who_signs_in() -> None:
    tokens = SessionTokens("secret", max_age_s=30 * DAY)
    session_id, anonymous = tokens.issue("", None)
    assert tokens.verify(anonymous, "", "carol@example.com") == session_id
    assert tokens.verify(anonymous, "", None) == session_id


def test_a_token_from_before_tokens_named_their_person_is_refused_to_a_signed_in_visitor() -> None:
    """Such a token may be a signed-in person's: only an anonymous visitor keeps it."""
    old = URLSafeSerializer("secret", salt="supporthub-widget").dumps(
        {"sid": "s1", "origin": "", "iat": int(time.time())}
    )
    tokens = SessionTokens("secret", max_age_s=30 * DAY)
    assert tokens.verify(old, "", None) == "s1"
    assert tokens.verify(old, "", "dave@example.com") is None
