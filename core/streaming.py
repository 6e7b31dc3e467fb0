"""An answer while it is written: what a streaming responder reports and a streaming channel
shows (the widget). Best effort: the stored reply is delivered as usual afterwards."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core.messages import Citation


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class CitationsReady:
    citations: tuple[Citation, ...]


@dataclass(frozen=True, slots=True)
class StreamDone:
    pass


@dataclass(frozen=True, slots=True)
class StreamReset:
    """Throw away the text streamed so far (the LLM failed mid-answer; another reply follows)."""


StreamEvent = TextDelta | CitationsReady | StreamDone | StreamReset
StreamSink = Callable[[StreamEvent], Awaitable[None]]
