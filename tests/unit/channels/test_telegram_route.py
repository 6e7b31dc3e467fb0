"""Where an update goes: `channels.telegram.channel.route` on updates shaped as Telegram sends them."""

from __future__ import annotations

from typing import Any

import pytest
from telegram import Update

from channels.telegram.channel import HUMAN_REQUEST, Kind, Routed, route
from channels.telegram.stand_in import BOT_ID, BOT_USERNAME
from channels.telegram.stand_in_updates import group_message, private_message
from core.messages import Address

GROUP = "-100123"


def routed(payload: dict[str, Any], *, group_mode: str = "mention") -> Routed:
    update = Update.de_json({"update_id": 1, **payload}, None)
    assert update is not None
    return route(update, bot_id=BOT_ID, bot_username=BOT_USERNAME, group_mode=group_mode)


def test_a_private_message_is_a_question_in_its_chat() -> None:
    assert routed(private_message("How do I export?")) == Routed(
        Kind.ASK, Address("telegram", "777"), "How do I export?"
    )


@pytest.mark.parametrize(
    ("text", "kind", "rest"),
    [
        ("/start", Kind.START, ""),
        ("/help", Kind.HELP, ""),
        ("/pricing", Kind.HELP, ""),
        ("/human my invoice is wrong", Kind.HUMAN, f"{HUMAN_REQUEST} my invoice is wrong"),
        (f"/human@{BOT_USERNAME}", Kind.HUMAN, HUMAN_REQUEST),
    ],
)
def test_commands(text: str, kind: Kind, rest: str) -> None:
    assert routed(private_message(text)) == Routed(kind, Address("telegram", "777"), rest)


def test_a_command_for_another_bot_is_ignored() -> None:
    assert routed(group_message("/help@some_other_bot")).kind is Kind.IGNORE


@pytest.mark.parametrize(
    "payload",
    [
        group_message(f"@{BOT_USERNAME} how do I export?"),
        group_message(
            "how do I export?",
            entities=[
                {
                    "type": "text_mention",
                    "offset": 0,
                    "length": 3,
                    "user": {"id": BOT_ID, "is_bot": True, "first_name": "Help"},
                }
            ],
        ),
        group_message(
            "how do I export?",
            reply_to_message={
                "message_id": 9,
                "date": 1,
                "chat": {"id": -100123, "type": "supergroup"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Help"},
            },
        ),
    ],
)
def test_in_a_group_a_message_for_the_bot_is_a_question_without_the_mention(payload: dict[str, Any]) -> None:
    assert routed(payload) == Routed(Kind.ASK, Address("telegram", GROUP), "how do I export?")


def test_in_a_group_other_talk_is_ignored_unless_group_mode_is_all() -> None:
    chatter = group_message("how do I export?")
    assert routed(chatter).kind is Kind.IGNORE
    assert routed(chatter, group_mode="all").kind is Kind.ASK


def test_a_forum_topic_is_its_own_conversation_and_the_general_topic_is_the_chat() -> None:
    topic = group_message(f"@{BOT_USERNAME} hi?", forum=True, message_thread_id=42)
    general = group_message(f"@{BOT_USERNAME} hi?", forum=True)
    assert routed(topic).address == Address("telegram", GROUP, "42")
    assert routed(general).address == Address("telegram", GROUP)


def test_an_own_contact_in_private_is_a_verified_phone_and_nobody_elses_is() -> None:
    own = routed(
        private_message(None, contact={"phone_number": "49 151 1234-5678", "first_name": "Ana", "user_id": 777})
    )
    assert own.kind is Kind.CONTACT and own.phone == "+4915112345678"
    other = routed(private_message(None, contact={"phone_number": "4915100000000", "first_name": "Bo", "user_id": 5}))
    assert other.kind is Kind.UNREADABLE
    in_group = routed(
        group_message(None, contact={"phone_number": "4915100000000", "first_name": "Bo", "user_id": 778}),
        group_mode="all",
    )
    assert in_group.kind is Kind.UNREADABLE  # a group's conversation is not one person's


def test_bots_anonymous_admins_service_messages_and_edits_are_ignored() -> None:
    anonymous_admin: dict[str, Any] = {
        "id": 1087968824,
        "is_bot": True,
        "first_name": "Group",
        "username": "GroupAnonymousBot",
    }
    anonymous = group_message("hello", sender_chat={"id": -100123, "type": "supergroup", "title": "x"})
    anonymous["message"]["from"] = anonymous_admin
    joined = group_message(None, new_chat_members=[{"id": 5, "is_bot": False, "first_name": "Bo"}])
    edit = {"edited_message": private_message("How do I export?")["message"] | {"edit_date": 2}}
    for payload in (anonymous, joined, edit):
        assert routed(payload, group_mode="all").kind is Kind.IGNORE


def test_a_group_upgraded_to_a_supergroup_moves() -> None:
    migrated = group_message(None, chat_id=-4001, migrate_to_chat_id=-1004001)
    assert routed(migrated) == Routed(Kind.MIGRATED, Address("telegram", "-4001"), new_chat_id="-1004001")


def test_a_sticker_gets_the_sentence_about_what_the_bot_reads() -> None:
    sticker = {
        "file_id": "S",
        "file_unique_id": "s",
        "type": "regular",
        "width": 1,
        "height": 1,
        "is_animated": False,
        "is_video": False,
    }
    assert routed(private_message(None, sticker=sticker)).kind is Kind.UNREADABLE
