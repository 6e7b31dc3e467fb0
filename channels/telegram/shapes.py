"""The types of the fields of a Telegram update that `channels.telegram.channel` reads.

python-telegram-bot builds an `Update` from whatever JSON it is given without checking types
(a `text` that is an object stays one), and the secret token only says the body came from
someone who holds it. An update whose fields have other types or sizes than the Bot API's
would fail while it is routed or stored (a 300-digit chat id), or be stored with a chat id no reply can reach; checked here before `Update.de_json`, it
is dropped as "not an update" instead. A NUL or a lone surrogate in a text is no reason to
drop it: the hub cleans such text where it enters (`core.clean_text`). Fields that are absent stay absent, and fields nobody
reads may hold anything.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from channels.common.payloads import at_most

_Int = Annotated[int, Field(ge=-(2**63), lt=2**63)]
"""Telegram's ids and counts are 64-bit at most."""
_Name = Annotated[str, at_most(64)]
"""Names and usernames: Telegram's limit is 64 characters."""


class _Shape(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow", populate_by_name=True)


class _User(_Shape):
    id: _Int
    is_bot: bool = False
    first_name: _Name = ""
    last_name: _Name | None = None
    username: _Name | None = None


class _Chat(_Shape):
    id: _Int
    type: str
    is_forum: bool | None = None


class _Entity(_Shape):
    type: str
    offset: _Int
    length: _Int
    user: _User | None = None


class _File(_Shape):
    file_id: str
    file_unique_id: str | None = None
    file_name: Annotated[str, at_most(255)] | None = None
    mime_type: Annotated[str, at_most(120)] | None = None
    file_size: _Int | None = None


class _PhotoSize(_File):
    width: _Int
    height: _Int


class _Contact(_Shape):
    phone_number: Annotated[str, at_most(32)]
    user_id: _Int | None = None


class _Message(_Shape):
    message_id: _Int
    date: _Int
    chat: _Chat
    sender: _User | None = Field(None, alias="from")
    text: str | None = None
    caption: str | None = None
    entities: list[_Entity] | None = None
    caption_entities: list[_Entity] | None = None
    reply_to_message: _Message | None = None
    message_thread_id: _Int | None = None
    is_topic_message: bool | None = None
    migrate_to_chat_id: _Int | None = None
    contact: _Contact | None = None
    document: _File | None = None
    voice: _File | None = None
    photo: list[_PhotoSize] | None = None

    @model_validator(mode="after")
    def _entities_have_their_text(self) -> _Message:
        """Entities are spans of the text (or caption): without it, reading one fails."""
        if self.entities and self.text is None:
            raise ValueError("entities without text")
        if self.caption_entities and self.caption is None:
            raise ValueError("caption_entities without caption")
        return self


class _Update(_Shape):
    update_id: _Int
    message: _Message | None = None


def shape_problem(payload: dict[str, Any]) -> str | None:
    """What in `payload` has a type the Bot API does not send ("message.text: Input should be
    a valid string"); None when nothing that is read does."""
    try:
        _Update.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{where or 'the update'}: {first['msg']}"
    return None
