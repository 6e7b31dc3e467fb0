"""What the WhatsApp channel and its two routes to the platform say to each other.

A route is one way to WhatsApp: Meta's Cloud API (`channels.whatsapp.cloud`: webhooks signed
with the app secret, the Graph API to send) or Twilio's WhatsApp sender
(`channels.whatsapp.twilio_route`: the twilio SDK, webhooks signed like SMS's). A route knows its
platform's wire: it checks and parses webhooks into `Incoming` and `Report`, and sends what the
channel decided to send. The channel (`channels.whatsapp.channel`) knows the hub: keywords,
identity, the 24-hour rule, what a reply becomes. Numbers cross this seam in E.164
("+4915112345678"), never in a platform's spelling ("4915112345678", "whatsapp:+49…").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from aiohttp import web

from core.messages import Attachment


@dataclass(frozen=True, slots=True)
class Media:
    """A file a customer sent, not fetched yet."""

    ref: str
    """The Cloud API's media id, or Twilio's MediaUrl."""
    kind: str
    """Its MIME type as the platform reported it."""
    filename: str | None = None
    """A document's own name; images and voice notes have none (the channel names them)."""
    voice: bool = False
    """A voice note (recorded in the app), not an audio file."""


@dataclass(frozen=True, slots=True)
class Incoming:
    """One customer message as a route parsed it from a signed webhook."""

    message_id: str
    """The platform's id (`wamid.…`, or Twilio's `SM…`/`MM…`): the hub stores it once."""
    number: str
    """The customer's number, E.164."""
    text: str
    """The text, a caption, or the title of a button or list row pressed; may be empty."""
    name: str | None = None
    """The name on the customer's WhatsApp profile."""
    media: tuple[Media, ...] = ()
    choice: str | None = None
    """The id of the button or list row pressed (`Choice.id`), when the message is a press."""
    sent_at: datetime | None = None
    """When the platform says the customer sent it (UTC), if it says."""


@dataclass(frozen=True, slots=True)
class Report:
    """What the platform reported on a message we sent."""

    message_id: str
    """The id `send_*` returned."""
    status: str
    """The platform's word for it (sent, delivered, read, failed…)."""
    rank: int
    """Its place in the platform's order: a report arriving after a later one is kept out."""
    recipient: str | None = None
    """The customer's number, E.164, when the report names it."""
    error: str | None = None
    """Why it failed, one line fit for a log (code and title): never a customer's data."""
    window_closed: bool = False
    """It failed because the customer last wrote more than 24 hours ago (Graph API 131047,
    Twilio 63016): the reply is held, not dead, and goes when the customer writes again."""
    unreachable: bool = False
    """It failed because the number cannot receive WhatsApp messages (not on WhatsApp, blocked)."""


@dataclass(frozen=True, slots=True)
class Choice:
    """A button or list row under a message; its `id` comes back in `Incoming.choice`."""

    id: str
    title: str
    """At most 20 characters (a button's limit; a list row takes 24)."""


@dataclass(frozen=True, slots=True)
class Template:
    """An approved message template, for a reply outside the 24-hour window."""

    name: str
    """The Cloud API's template name, or Twilio's Content SID (HX…)."""
    language: str
    """The template's language code as approved (en, en_US, pt_BR); Twilio's Content SID has one."""
    parameter: str | None = None
    """The body's one parameter ({{1}}), or None for a template without one."""


class Webhooks(Protocol):
    """What a route hands the channel from a webhook it checked and parsed."""

    async def message(self, incoming: Incoming) -> None:
        """Take one customer message. Raises `core.channel.StorageUnavailable` when nothing
        could be kept: the route answers 503 so the platform sends the webhook again."""
        ...

    async def report(self, report: Report) -> None:
        """Take one status report (raises like `message`)."""
        ...


class Route(Protocol):
    """One way to WhatsApp (see the module)."""

    max_text: int
    """The longest text one message may carry on this route (Cloud API 4,096; Twilio 1,600)."""

    def routes(self, webhooks: Webhooks) -> list[web.AbstractRouteDef]:
        """The webhook routes, each checking the platform's signature on the raw body first
        (403, nothing parsed or stored, when it fails)."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def check(self) -> str:
        """Prove the credentials work (`supporthub doctor`), changing nothing: one line of what
        was verified; raises `core.channel.CheckFailed` with the platform's reason."""
        ...

    async def send_text(self, number: str, text: str) -> str:
        """Send a free-form text (at most `max_text` characters); the platform's message id.
        Raises `core.channel.DeliveryError`: `held` when the platform says the 24-hour window is
        closed, `permanent`/`unreachable` as the platform's error says, else worth retrying."""
        ...

    async def send_choices(self, number: str, text: str, choices: Sequence[Choice], *, button: str) -> str:
        """Send `text` with `choices` to press: up to 3 as reply buttons, up to 10 as a list
        opened by `button`. Where the route has no interactive messages (Twilio without a
        Content template), the text goes alone with the choices as numbered lines."""
        ...

    async def send_template(self, number: str, template: Template) -> str:
        """Send an approved template (the only message allowed outside the 24-hour window)."""
        ...

    async def download(self, media: Media, *, name: str, max_bytes: int) -> Attachment:
        """The file, read no further than one byte past `max_bytes`
        (`channels.common.downloads.capped_file`); on any failure an `Attachment` without data whose
        `problem` says so (said in the language spoken when it is called)."""
        ...

    async def mark_read(self, message_id: str, *, typing: bool) -> None:
        """Show the customer their message was read, and with `typing` that an answer is being
        written, where the route offers it (the Cloud API does; Twilio's route does nothing).
        Best effort: never raises."""
        ...
