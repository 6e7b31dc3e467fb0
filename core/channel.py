"""The channel port: what every adapter in `channels/` implements.

Adapters are found through the `supporthub.channels` entry-point group, so core never
imports a channel module and a company can ship its own channel as a separate package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from aiohttp import web

if TYPE_CHECKING:
    from core.hub import Hub
    from core.messages import Address, StoredMessage
    from core.streaming import StreamEvent


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a channel can do; optional features are flags, never methods that raise."""

    max_text_length: int
    formatting: str  # "markdown", "mrkdwn", "html", "plain"
    threads: bool = False
    typing: bool = False
    attachments: bool = False
    push: bool = True
    """False when the conversation history itself is the delivery (a client pulls it):
    such replies need no outbox row."""
    streaming: bool = False
    """The channel shows an answer while it is written (implements `StreamingChannel`)."""


class DeliveryError(Exception):
    """A send that failed in a way worth retrying; `retry_after` honours a platform's hint."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


@runtime_checkable
class Channel(Protocol):
    name: str
    capabilities: Capabilities

    def routes(self) -> list[web.AbstractRouteDef]:
        """Webhook and page routes to mount on the one aiohttp app."""
        ...

    async def start(self, hub: Hub) -> None:
        """Start listeners (sockets, polling); called once the hub is ready."""
        ...

    async def stop(self) -> None: ...

    async def send(self, address: Address, message: StoredMessage) -> str | None:
        """Deliver one stored outgoing message; return the platform's id for it, if any.

        Raise `DeliveryError` for a failure worth retrying; anything else is retried too.
        """
        ...


@runtime_checkable
class StreamingChannel(Protocol):
    async def stream(self, address: Address, reply_to: int, event: StreamEvent) -> None:
        """Show progress of the answer to message `reply_to` (text so far, citations, done).

        Best effort: the stored reply is delivered as usual afterwards and replaces the draft.
        """
        ...
