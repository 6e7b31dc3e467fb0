"""The types of the fields a Slack request carries that Bolt and `channels.slack.channel` read.

A signed request is Slack's, but its fields are read without checking their types (Bolt's
`body.get("event", {}).get("type")`, our `event["user"]`), and what is stored must fit the
database (ids within their columns): a body that does not
(from a bug, or from someone holding the signing secret) would end in a 500. Checked here
once, after the signature and before Bolt, it gets a 400 naming the field instead. A NUL or a
lone surrogate in what is stored is no reason to refuse: the hub cleans such text where it
enters (`core.clean_text`). Fields
that are absent stay absent, and fields nobody reads may hold anything, so payloads of other
kinds and Slack's future fields pass through.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from channels.common.payloads import at_most

_Id = Annotated[str, at_most(255)]


class _Shape(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")


class _Named(_Shape):
    """A team, enterprise, user or channel given as an object."""

    id: str | None = None


class _Authorization(_Shape):
    enterprise_id: str | None = None
    team_id: str | None = None
    user_id: str | None = None
    is_bot: bool | None = None
    is_enterprise_install: bool | None = None


class _Edited(_Shape):
    """The message inside a `message_changed` or `message_deleted` event."""

    subtype: str | None = None
    thread_ts: str | None = None
    user: str | None = None


class _Event(_Shape):
    """Any event: Bolt reads its type (and user, team and channel when they are strings)."""

    type: str
    subtype: str | None = None
    bot_id: str | None = None
    user_team: str | None = None
    message: _Edited | None = None
    previous_message: _Edited | None = None


class _Envelope(_Shape):
    """What Bolt reads of any payload to route it and find its workspace. An `event`, where
    there is one, is an object: Bolt reads `body.get("event", {}).get(…)` of every payload."""

    type: str | None = None
    team_id: str | None = None
    enterprise_id: str | None = None
    api_app_id: str | None = None
    event_id: str | None = None
    team: str | _Named | None = None
    enterprise: str | _Named | None = None
    user: str | _Named | None = None
    channel: str | _Named | None = None
    authorizations: list[_Authorization] | None = None
    is_enterprise_install: bool | str | None = None
    is_ext_shared_channel: bool | None = None
    event: _Event | None = None

    @model_validator(mode="before")
    @classmethod
    def _event_is_an_object(cls, payload: Any) -> Any:
        if isinstance(payload, dict) and "event" in payload and not isinstance(payload["event"], dict):
            raise ValueError("event must be an object")
        return payload


class _SharedFile(_Shape):
    id: _Id | None = None
    name: _Id | None = None
    mimetype: Annotated[_Id, at_most(120)] | None = None
    url_private: str | None = None
    url_private_download: str | None = None


class _Message(_Event):
    """A `message` or `app_mention` event, the ones `route_event` reads and the hub stores."""

    user: _Id | None = None
    team: str | None = None
    channel: _Id | None = None
    channel_type: str | None = None
    ts: _Id | None = None
    thread_ts: _Id | None = None
    text: str | None = None
    files: list[_SharedFile] | None = None


class _EventCallback(_Envelope):
    event: _Event


class _MessageCallback(_Envelope):
    event: _Message


class _Action(_Shape):
    action_id: str
    block_id: str | None = None
    value: _Id | None = None
    """A case button's case id; a survey button's question and score."""


class _Clicker(_Shape):
    id: _Id


class _Container(_Shape):
    """Where a clicked button is: the message, its channel and its thread."""

    channel_id: _Id | None = None
    message_ts: _Id | None = None
    thread_ts: _Id | None = None


class _ClickedMessage(_Shape):
    blocks: list[dict[str, Any]] | None = None


class _BlockActions(_Envelope):
    user: _Clicker  # type: ignore[assignment]  # a button's clicker is an object with an id, never a string
    actions: list[_Action] = Field(min_length=1)
    container: _Container | None = None
    message: _ClickedMessage | None = None
    response_url: str | None = None
    trigger_id: str | None = None


_MESSAGE_EVENTS = ("message", "app_mention")


def shape_problem(payload: dict[str, Any]) -> str | None:
    """What in `payload` has a type Slack does not send ("event.user must be a string"); None
    when nothing that is read does."""
    event = payload.get("event")
    read: type[_Envelope]
    if payload.get("type") == "event_callback":
        read = _MessageCallback if isinstance(event, dict) and event.get("type") in _MESSAGE_EVENTS else _EventCallback
    elif payload.get("type") == "block_actions":
        read = _BlockActions
    else:
        read = _Envelope
    try:
        read.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"] if not _is_union_branch(part))
        return f"{where or 'the payload'}: {first['msg']}"
    return None


def _is_union_branch(part: str | int) -> bool:
    """pydantic names the branch of a union it tried (`str`, `_Named`) in an error's location."""
    return isinstance(part, str) and (part in ("str", "bool") or part.startswith("_"))
