"""What a customer's message activity from Teams holds for the hub, read without the network
("Bot Framework Activity schema"; Teams' "Conversation basics", "Send and receive files").

A Teams message arrives as an activity of type `message`, its `conversation.conversationType`
saying where it was written: `personal` (a one-to-one chat with the bot: every message is for
it), `groupChat` or `channel` (a channel post's replies share the post's conversation id,
`19:…@thread.tacv2;messageid=…`). In a group chat or a channel the bot is asked only when
@mentioned: the mention (`<at>Bot</at>`, with a `mention` entity naming the bot's id) is taken out
of the text, and anyone else's is left as "@Name". A press of a button on an Adaptive Card
(`Action.Submit`) arrives as a message whose `value` is the button's data. Files come only in a
personal chat, each as an attachment of type `application/vnd.microsoft.teams.file.download.info`
whose `content.downloadUrl` is a short-lived, pre-authorized OneDrive/SharePoint link. Teams also
attaches the message's HTML rendering (`text/html`) to many messages: the text already holds it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from microsoft_agents.activity import Activity

TEAMS_CHANNEL = "msteams"
PERSONAL = "personal"
FILE_DOWNLOAD_INFO = "application/vnd.microsoft.teams.file.download.info"
SURVEY_KEY = "survey"
"""The key of an Adaptive Card button's data that carries a survey score ("41:4")."""
MAX_ID_CHARS = 200
_OTHER_MENTION = re.compile(r"<at>(.*?)</at>", re.DOTALL)


@dataclass(frozen=True, slots=True)
class FileLink:
    """A file a customer sent, not fetched yet."""

    name: str
    url: str
    """Its pre-authorized download URL (a secret of sorts: never logged or stored)."""


@dataclass(frozen=True, slots=True)
class Incoming:
    """A message for the bot, or a survey's button pressed."""

    activity_id: str
    conversation_id: str
    conversation_type: str
    sender: str
    """The customer's Entra object id (`from.aadObjectId`), else their Teams user id."""
    sender_name: str | None
    text: str
    files: tuple[FileLink, ...] = ()
    survey: str | None = None
    """The pressed button's survey value ("41:4"); None for a message."""
    language: str | None = None
    """The language Teams is set to for the customer (ISO 639-1 from `locale`)."""
    sent_at: datetime | None = None

    @property
    def personal(self) -> bool:
        return self.conversation_type == PERSONAL


def read_message(activity: Activity) -> Incoming | None:
    """What the hub takes from `activity`; None for anything that is not a message for the bot
    (another channel's, a bot's own, a group chat's or channel's without a mention, an empty one)."""
    conversation, sender = activity.conversation, activity.from_property
    if (
        activity.type != "message"
        or str(activity.channel_id or "") != TEAMS_CHANNEL
        or conversation is None
        or sender is None
        or not _usable(activity.id)
        or not _usable(conversation.id)
        or (sender.role or "") == "bot"
    ):
        return None
    kind = conversation.conversation_type or PERSONAL
    survey = _survey(activity.value)
    if survey is None and kind != PERSONAL and not activity.is_recipient_mentioned():
        return None  # a group chat's or channel's talk among people
    text = "" if survey is not None else _text(activity)
    files = _files(activity.attachments or []) if kind == PERSONAL else ()
    if survey is None and not text and not files:
        return None
    return Incoming(
        activity_id=str(activity.id),
        conversation_id=str(conversation.id),
        conversation_type=kind,
        sender=str(sender.aad_object_id or sender.id),
        sender_name=sender.name or None,
        text=text,
        files=files,
        survey=survey,
        language=(activity.locale or "").split("-")[0].lower() or None,
        sent_at=activity.timestamp,
    )


def _usable(value: str | None) -> bool:
    return value is not None and 0 < len(value) <= MAX_ID_CHARS


def _survey(value: Any) -> str | None:
    pressed = value.get(SURVEY_KEY) if isinstance(value, dict) else None
    return pressed if isinstance(pressed, str) else None


def _text(activity: Activity) -> str:
    """The text with the bot's mention taken out and anyone else's as "@Name"."""
    without_bot = activity.remove_recipient_mention() if activity.text else ""
    return _OTHER_MENTION.sub(lambda found: "@" + found[1].strip(), without_bot or "").strip()


def _files(attachments: list[Any]) -> tuple[FileLink, ...]:
    found = []
    for attachment in attachments:
        content = attachment.content if isinstance(attachment.content, dict) else {}
        url = content.get("downloadUrl")
        if attachment.content_type == FILE_DOWNLOAD_INFO and isinstance(url, str) and url:
            found.append(FileLink(attachment.name or "file", url))
    return tuple(found)
