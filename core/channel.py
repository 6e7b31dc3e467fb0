"""The ports between channel adapters and the hub.

`Channel` is what every adapter in `channels/` implements; what an adapter may ask of the hub
comes in small ports by concern: `Intake` (messages in), `ConversationReads`, `ChannelRecords`
(its own values and what it knows of its platform) and `StaffEvents`; `HubPort` is all of
them. A channel that splits a reply is handed the parts already delivered with each delivery
(`SplittingChannel`, `SentParts`). Adapters are found through the `supporthub.channels` entry-point
group, so core never imports a channel module, and a channel sees the hub only through these
ports, handed to it when it is built (`core.pipeline.hub_gate`), so importing one loads neither the
database layer, the LLM client nor the index.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from aiohttp import web

from core.messages import Address, InboundMessage, StoredMessage
from core.streaming import StreamEvent

if TYPE_CHECKING:
    from core.desk_port import CaseAction
    from knowledge.hits import Hit


TERMINAL_CHANNEL = "cli"
"""The channel of conversations someone has with the bot from the terminal to try it
(`supporthub ask`, `chat`): the dashboard marks them *test*."""


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the hub needs to know of a channel to serve it; optional features are flags, never
    methods that raise. How a reply looks on the platform is the channel's own renderer's
    business, so no flag says it."""

    max_text_length: int
    """The longest message a customer may send on the channel (the widget is told it)."""
    push: bool = True
    """False when the conversation history itself is the delivery (a client pulls it):
    such replies need no outbox row."""
    streaming: bool = False
    """The channel shows an answer while it is written (implements `StreamingChannel`)."""


class DeliveryError(Exception):
    """A send that failed and is worth trying again (`retry_after` honours a platform's hint).
    What else can happen is a subclass, one class per outcome, so the outbox reads the outcome
    from the type (`except DeliveryRefused`), not from flags."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class DeliveryRefused(DeliveryError):
    """The platform refused the message itself: retrying cannot help, it is dead-lettered at once."""


class CustomerUnreachable(DeliveryRefused):
    """The customer cannot be written to any more (they blocked the bot): this reply and the
    conversation's later ones are dead-lettered unsent, until the customer writes again."""


class DeliveryHeld(DeliveryError):
    """The platform takes the message only after the customer writes again (WhatsApp's 24-hour
    rule): it is kept, staff are told why, and it is sent once the customer writes."""


class DeliveryDropped(DeliveryError):
    """The message is no longer worth sending (a notice of the hub's own past its time): not a
    failure, so no dead letter either."""


class IdentityConflict(ValueError):
    """A message proves a verified identity other than the one the conversation at its address
    belongs to (a company's backend naming one API contact id for two people): not stored."""


class StorageUnavailable(Exception):
    """The hub cannot store anything right now (database locked by another process, disk full,
    database unreachable); nothing was kept, so the sender should try again after
    `retry_after_s`. The message says why, for the log; never a customer's data."""

    def __init__(self, reason: str, *, retry_after_s: int = 5) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s


# -- what the hub answers -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Receipt:
    """A received message as stored: a repeat of its external id is reported as a duplicate."""

    message_id: int
    conversation_id: str
    duplicate: bool
    with_person: bool = False
    """The conversation is a person's (a case waits for staff or they have it): the bot will not
    answer, so a channel shows no "typing…" for it."""


@dataclass(frozen=True, slots=True)
class Admission:
    """Whether a sender may send one more message now (see `core.rate_limits`)."""

    allowed: bool
    retry_after_s: int = 0
    """When refused: whole seconds until the sender may write again (at least 1)."""


class FeedbackResult(StrEnum):
    SAVED = "saved"
    NOT_FOUND = "not_found"
    NOT_A_REPLY = "not_a_reply"


class RatingResult(StrEnum):
    """What became of a score given with a survey's buttons (`Intake.rate`)."""

    SAVED = "saved"
    NOT_FOUND = "not_found"
    """No survey asked with that message in this conversation."""
    CLOSED = "closed"
    """Answered already, or asked longer ago than a survey stays open (`handoff.survey.OPEN_FOR`)."""


@dataclass(frozen=True, slots=True)
class CaseOverview:
    id: str
    state: str
    rule: str
    reason: str
    owner: str | None
    opened_at: datetime


@dataclass(frozen=True, slots=True)
class ConversationOverview:
    """Who has a conversation and how the customer feels, for the API and the staff desk."""

    id: str
    state: str
    summary: str | None
    case: CaseOverview | None
    intents: tuple[str, ...]
    """Of each analysed customer message, oldest first."""
    frustration: tuple[float, ...]
    trend: float
    """Recent polarity minus earlier polarity: below zero, the customer is getting unhappier."""


# -- the ports ----------------------------------------------------------------------------


class Intake(Protocol):
    """What a channel hands the hub from its customers: messages, after the rate limits, and
    votes on replies; and the wait for a reply, for channels that answer in the same request."""

    async def admit(self, *, channel: str, sender: str | None = None, ip: str | None = None) -> Admission:
        """Count one incoming message against `[limits]` before it is stored: per sender on the
        channel, and per IP address where the IP is the customer's own (never a platform's
        servers). A refused message is not stored: the API answers 429, the widget a polite
        line, a webhook drops it."""
        ...

    async def admit_session(self, *, channel: str, ip: str | None) -> Admission:
        """Count one new session from `ip` against `limits.sessions_per_ip`, before it is
        opened: where a session makes a new sender (the widget), opening one per message would
        otherwise step around the limit per sender."""
        ...

    async def receive(self, message: InboundMessage) -> Receipt:
        """Store a customer message (idempotent on channel + external id) and queue its answer.
        Returns once it is stored, so the adapter can acknowledge its platform."""
        ...

    async def wait_for_reply(self, message_id: int, *, timeout: float) -> StoredMessage | None:
        """The bot's answer to a received message, waiting up to `timeout` seconds; None when
        there is none yet, or none coming (a person has the conversation)."""
        ...

    async def answered(self, message_id: int) -> bool:
        """Whether a customer message's turn is over; with no reply to it, a person has it."""
        ...

    async def feedback(
        self, message_id: int, *, rating: str, comment: str | None = None, address: Address | None = None
    ) -> FeedbackResult:
        """A thumbs up/down on a bot reply; with `address`, only a reply in that conversation."""
        ...

    async def rate(self, message_id: int, *, score: int, address: Address, comment: str | None = None) -> RatingResult:
        """A score (`core.messages.SURVEY_SCORES`) given with the buttons under the survey
        question `message_id` in the conversation at `address`; a survey is answered once."""
        ...


class ConversationReads(Protocol):
    """What a channel reads back: conversations as stored, who has them, and the knowledge."""

    async def history(self, address: Address, *, after: int = 0, limit: int = 200) -> list[StoredMessage]:
        """The conversation at `address`, both directions, after message id `after`."""
        ...

    async def conversation_messages(
        self, conversation_id: str, *, after: int = 0, limit: int = 200
    ) -> list[StoredMessage] | None:
        """Like `history`, by conversation id; None for an unknown conversation."""
        ...

    async def conversation_overview(self, conversation_id: str) -> ConversationOverview | None: ...

    async def has_conversation(self, address: Address) -> bool:
        """Whether a conversation lives at `address` (a Slack thread the bot is part of)."""
        ...

    async def address_of_message(self, channel: str, external_ids: Sequence[str]) -> Address | None:
        """Where the conversation lives that holds a message with one of these platform ids
        (a customer's, or one `send` returned): an email reply's References find its thread."""
        ...

    async def search(self, query: str, k: int) -> list[Hit]: ...


class ChannelValues(Protocol):
    """A channel's own small key-value store in the hub's database (Telegram's getUpdates
    offset, an IMAP folder's last UID, an email thread's subject): what it needs to find again
    after a restart, in no other channel's way. `ChannelRecords.values` hands one out."""

    async def get(self, key: str, *, newer_than: datetime | None = None) -> str | None:
        """The value saved under `key`, or None; with `newer_than`, only a value saved since then."""
        ...

    async def put(self, key: str, value: str) -> None:
        """Save `value` (at most 255 characters) under `key` (at most 100), replacing the last."""
        ...


class ChannelRecords(Protocol):
    """What a channel keeps in the hub about its platform: its own values, chats that moved,
    customers who opted out, and what the platform reported about a sent reply."""

    def values(self, channel: str) -> ChannelValues:
        """The key-value store of `channel`."""
        ...

    async def move_chat(self, channel: str, old_chat_id: str, new_chat_id: str) -> None:
        """The platform moved a chat to a new id: its conversations and replies follow."""
        ...

    async def set_opted_out(self, address: Address, opted_out: bool) -> bool:
        """The customer at `address` said STOP (True) or START (False): while opted out, no
        reply is sent there (each is dead-lettered unsent). Whether it changed anything."""
        ...

    async def delivery_status(
        self,
        channel: str,
        external_id: str,
        status: str,
        rank: int,
        *,
        unreachable: str | None = None,
        held: str | None = None,
    ) -> bool:
        """The platform reported on a reply it accepted (`send` returned `external_id`): keep
        `status` unless a later one (higher `rank`) came first; `unreachable` says why the
        customer cannot be written to any more; `held` says why the platform refused it until
        the customer writes again (WhatsApp's 24-hour rule): the reply is held as if `send` had
        raised `DeliveryHeld`. False for an unknown id or a late report."""
        ...


class SentParts:
    """The parts of a split reply already delivered, as the outbox claimed the delivery with
    them, and the way to keep each one sent now, so that a retry sends only the rest. A part
    before the last is kept at once (a transaction of its own); the last is kept with the
    delivery's own status, in one transaction (`last`)."""

    def __init__(self, sent: Sequence[str] = (), keep: Callable[[int, str], Awaitable[None]] | None = None) -> None:
        self.sent = list(sent)
        self._keep = keep
        self.last: tuple[int, str] | None = None

    async def record(self, part: int, external_id: str, *, last: bool) -> None:
        self.sent.append(external_id)
        if last:
            self.last = (part, external_id)
        elif self._keep is not None:
            await self._keep(part, external_id)


class StaffEvents(Protocol):
    """What a staff desk's platform hands the hub: people's messages and button presses in cases."""

    async def staff_message(self, *, desk_ref: str, actor: str, text: str, event_id: str | None = None) -> None:
        """A person wrote in a case thread on the staff desk (a reply, a note or a command);
        `event_id`, the platform's id of the message, makes a resend of it harmless."""
        ...

    async def staff_action(self, *, case_id: str, action: CaseAction, actor: str) -> None:
        """A person pressed a button on a case card."""
        ...


class Languages(Protocol):
    """The customer's language, for what a channel says on its own, outside a turn."""

    async def language_at(self, address: Address) -> str | None:
        """The language of the conversation at `address`; None when there is none or it is not
        known yet. An SMS HELP, Telegram's /help, a file's problem are said in it."""
        ...


class HubPort(Intake, ConversationReads, ChannelRecords, StaffEvents, Languages, Protocol):
    """All the ports at once: what the hub implements and hands each channel at start. A channel
    keeps it typed as the ports it uses (`channels.api.channel.ApiHub`, an Intake and ConversationReads)."""


@runtime_checkable
class Channel(Protocol):
    name: str
    capabilities: Capabilities

    def routes(self) -> list[web.AbstractRouteDef]:
        """Webhook and page routes to mount on the one aiohttp app."""
        ...

    async def start(self) -> None:
        """Start listeners (sockets, polling); called once the hub is ready. A channel is built
        as `Channel(settings, hub)` and keeps `hub`, typed as the ports it uses: until the hub
        runs, a call on it raises `StorageUnavailable` (`core.pipeline.hub_gate`)."""
        ...

    async def stop(self) -> None: ...

    async def send(self, address: Address, message: StoredMessage) -> str | None:
        """Deliver one stored outgoing message; return the platform's id for it, if any.

        Raise `DeliveryError` for a failure worth retrying (anything else is retried too), or one
        of its kinds for another outcome: `DeliveryRefused`, `CustomerUnreachable`, `DeliveryHeld`,
        `DeliveryDropped`.
        """
        ...


@runtime_checkable
class SplittingChannel(Protocol):
    """A channel that sends a long reply as several platform messages (Telegram's 4,096)."""

    async def send_split(self, address: Address, message: StoredMessage, parts: SentParts) -> str | None:
        """`send`, skipping the parts already in `parts.sent` and recording each part it sends
        there; the platform id of the reply's first part."""
        ...


@runtime_checkable
class StreamingChannel(Protocol):
    async def stream(self, address: Address, reply_to: int, event: StreamEvent) -> None:
        """Show progress of the answer to message `reply_to` (text so far, citations, done).

        Best effort: the stored reply is delivered as usual afterwards and replaces the draft.
        """
        ...


class CheckFailed(Exception):
    """A live check found a problem; the message is one line, safe to print: it never holds a
    secret (a token, a password, a URL carrying either)."""


@runtime_checkable
class CheckableChannel(Protocol):
    async def check(self) -> str:
        """Prove the configured credentials work against the platform now (`supporthub doctor`),
        on a channel constructed but never started; change nothing there.

        Returns one line saying what was verified ("auth.test: bot U0123 in team Acme"); raises
        `CheckFailed` with the reason on a failure the platform reported. Bounded by the caller's
        timeout.
        """
        ...


@runtime_checkable
class LiveChannel(Protocol):
    """A channel whose `send` reaches only the connections this process holds (the widget's
    sockets). With several hub processes, the hub also hands it the messages other processes
    store for an address it holds, and asks it to catch up after missing some."""

    def holds(self, address: Address) -> bool:
        """Whether this process holds a live connection for `address`."""
        ...

    async def catch_up(self) -> None:
        """Send every held connection what was stored for it since it last got a message."""
        ...
