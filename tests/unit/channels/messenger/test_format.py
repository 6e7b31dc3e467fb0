"""A reply as Messenger and Instagram show it: plain text with its sources, split at the
platform's limit between paragraphs."""

from __future__ import annotations

from channels.messenger.format import message_parts, message_text
from core.messages import Citation

SOURCES = (
    Citation("refunds.md", "Refunds", "", 0.8, url="https://help.example.com/refunds"),
    Citation("shipping.md", "Shipping", "", 0.7),
)


def test_markdown_becomes_plain_text_with_the_sources_after_it() -> None:
    (text,) = message_parts(
        "**Refunds** take [5 days](https://help.example.com/refunds).\n\n- card\n- bank", SOURCES, max_chars=2000
    )
    assert text == (
        "Refunds take 5 days: https://help.example.com/refunds.\n\n- card\n- bank\n\n"
        "Sources: Refunds (https://help.example.com/refunds); Shipping"
    )


def test_a_long_reply_is_split_between_paragraphs_within_instagrams_1000_characters() -> None:
    paragraphs = [f"Step {i}: " + "check the settings page once more. " * 8 for i in range(8)]
    parts = message_parts("\n\n".join(paragraphs), SOURCES, max_chars=1000)
    assert len(parts) > 1 and all(len(part) <= 1000 for part in parts)
    assert all(part.startswith("Step ") for part in parts) and parts[-1].endswith("Shipping")
    assert "\n\n".join(parts).count("Step ") == 8


def test_what_one_message_must_hold_is_cut_short_with_its_sources() -> None:
    text = message_text("word " * 600, SOURCES, max_chars=1000)
    assert len(text) <= 1000 and "(cut short)" in text and text.endswith("Shipping")
