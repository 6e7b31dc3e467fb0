"""Updates as Telegram sends them, for the webhook and for `FakeBotApi.push_update`: messages in a
private chat or a supergroup (optionally a forum topic), with the entities Telegram attaches for
/commands and @mentions. `update_id` is left out: the webhook caller or the fake assigns it."""

from __future__ import annotations

import re
import time
from typing import Any

_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{5,32})?(?![\w/@])")
_MENTION = re.compile(r"(?<![\w@/])@[A-Za-z0-9_]{5,32}(?!\w)")


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def mention_entities(text: str) -> list[dict[str, Any]]:
    """The entities Telegram attaches for @usernames (`mention`) and /commands, with an optional
    @botname (`bot_command`), offsets and lengths in UTF-16 code units like Telegram's."""
    found = [("bot_command", match) for match in _COMMAND.finditer(text)]
    found += [("mention", match) for match in _MENTION.finditer(text)]
    return [
        {"offset": _utf16_length(text[: match.start()]), "length": _utf16_length(match.group()), "type": kind}
        for kind, match in sorted(found, key=lambda item: item[1].start())
    ]


def _user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Ada", "username": f"ada_{user_id}", "language_code": "en"}


def _message(
    text: str | None, *, chat: dict[str, Any], user_id: int, message_id: int, extra: dict[str, Any]
) -> dict[str, Any]:
    message: dict[str, Any] = {"message_id": message_id, "from": _user(user_id), "chat": chat, "date": int(time.time())}
    if text is not None:
        message["text"] = text
        if entities := mention_entities(text):
            message["entities"] = entities
    caption = extra.get("caption")
    if isinstance(caption, str) and "caption_entities" not in extra and (entities := mention_entities(caption)):
        message["caption_entities"] = entities
    return message | extra


def private_message(text: str | None, *, user_id: int = 777, message_id: int = 1, **extra: Any) -> dict[str, Any]:
    """An update (without update_id) carrying a message from `user_id` in its private chat with
    the bot. `extra` merges into the message (caption, document, photo, voice, reply_to_message…);
    entities for /commands and @mentions in `text` and `caption` are filled in."""
    chat = {"id": user_id, "first_name": "Ada", "username": f"ada_{user_id}", "type": "private"}
    return {"message": _message(text, chat=chat, user_id=user_id, message_id=message_id, extra=extra)}


def group_message(
    text: str | None,
    *,
    chat_id: int = -100123,
    user_id: int = 778,
    message_id: int = 1,
    forum: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """An update (without update_id) carrying a message in a supergroup, `forum` with topics on.
    Like Telegram, a forum message with a `message_thread_id` is marked `is_topic_message`."""
    chat: dict[str, Any] = {"id": chat_id, "title": "Supporthub Customers", "type": "supergroup"}
    if forum:
        chat["is_forum"] = True
        if "message_thread_id" in extra:
            extra.setdefault("is_topic_message", True)
    return {"message": _message(text, chat=chat, user_id=user_id, message_id=message_id, extra=extra)}
