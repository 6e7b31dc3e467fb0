"""Reading the Messenger Platform's webhooks as Meta posts them (built by the stand-in's builders):
what becomes a customer message, what is left out, and a frame that is not Meta's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from channels.common.meta_graph import BadWebhook
from channels.messenger.stand_in import (
    CUSTOMER_PSID,
    IG_ACCOUNT_ID,
    PAGE_ID,
    attachment_message,
    combined,
    delivery,
    echo,
    postback,
    quick_reply,
    read,
    text_message,
)
from channels.messenger.webhook import Delivered, FileRef, Incoming, parse_webhook

CDN = "https://scontent-fra3-1.xx.fbcdn.net/v/t1.15752-9/photo.jpg?_nc_cat=1&oh=00_AfD&oe=6543"


def messenger(payload: dict[str, object]) -> list[Incoming | Delivered]:
    return parse_webhook(payload, platform_object="page", account=PAGE_ID)


def test_a_text_a_photo_with_a_caption_a_quick_reply_and_a_button_in_one_batch() -> None:
    batch = combined(
        text_message("Where is my order?", mid="m_1", timestamp=1_762_902_671_000),
        attachment_message(CDN, "image", text="This error shows up", mid="m_2"),
        quick_reply("5 (great)", "survey:41:5", mid="m_3"),
        postback("Talk to us", "CONTACT", mid="m_4"),
    )
    found = [item for item in messenger(batch) if isinstance(item, Incoming)]
    assert found[0].sent_at == datetime.fromtimestamp(1_762_902_671, UTC)
    assert [(item.message_id, item.sender, item.text, item.files, item.choice) for item in found] == [
        ("m_1", CUSTOMER_PSID, "Where is my order?", (), None),
        ("m_2", CUSTOMER_PSID, "This error shows up", (FileRef(CDN, "image"),), None),
        ("m_3", CUSTOMER_PSID, "5 (great)", (), "survey:41:5"),
        ("m_4", CUSTOMER_PSID, "Talk to us", (), "CONTACT"),
    ]


def test_echoes_read_receipts_and_another_pages_messages_are_left_out_and_deliveries_kept() -> None:
    other_page = text_message("for the other Page")
    other_page["entry"][0]["id"] = "999999999999"
    batch = combined(echo("Sent from Meta's inbox"), read(1_762_902_671_000), other_page, delivery(["m_7", "m_8"]))
    assert messenger(batch) == [Delivered(("m_7", "m_8"))]


def test_an_instagram_webhook_is_read_only_by_the_instagram_account() -> None:
    payload = text_message("Do you ship to Canada?", platform="instagram")
    assert messenger(payload) == []  # its object is "instagram", not "page"
    (found,) = parse_webhook(payload, platform_object="instagram", account=IG_ACCOUNT_ID)
    assert isinstance(found, Incoming) and found.text == "Do you ship to Canada?"


def test_a_share_or_a_sticker_with_nothing_to_read_is_left_out() -> None:
    shared = attachment_message("https://www.instagram.com/reel/abc", "ig_reel", platform="instagram")
    assert parse_webhook(shared, platform_object="instagram", account=IG_ACCOUNT_ID) == []
    thumbs_up = attachment_message(CDN, "image")
    thumbs_up["entry"][0]["messaging"][0]["message"]["attachments"][0]["payload"]["sticker_id"] = 369239263222822
    assert messenger(thumbs_up) == []  # Messenger sends a sticker as an image: not a customer's file


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        ({"object": "page", "entry": {"id": PAGE_ID}}, "entry is not a list of objects"),
        ({"object": "page", "entry": [{"id": PAGE_ID, "messaging": ["text"]}]}, "entry[].messaging"),
    ],
)
def test_a_frame_that_is_not_metas_names_where(payload: dict[str, object], where: str) -> None:
    with pytest.raises(BadWebhook, match=where.replace("[", r"\[").replace("]", r"\]")):
        messenger(payload)
