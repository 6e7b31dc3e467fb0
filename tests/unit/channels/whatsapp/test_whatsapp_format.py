"""A reply as a WhatsApp customer reads it, and the 24-hour window it may be sent in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from channels.common.reply_window import stamp
from channels.whatsapp.format import whatsapp_parts, whatsapp_text
from channels.whatsapp.window import is_open
from core.languages import speaking
from core.messages import Citation

REFUNDS = Citation("refunds.md", "Refund policy", "Refunds", 0.9, "https://help.example.com/refunds")
SHIPPING = Citation("shipping.md", "Shipping", "Times", 0.8)


def test_markdown_becomes_whatsapps_own_markup_and_sources_follow_with_their_links() -> None:
    text = whatsapp_text(
        "## Refunds\n\nYou get **your money** back within *30 days*, see [the policy](https://x.example/p).\n\n"
        "1. Open *Orders*\n2. Press `Refund`",
        [REFUNDS, SHIPPING, REFUNDS],
        max_chars=4096,
    )
    assert text == (
        "*Refunds*\n\n"
        "You get *your money* back within _30 days_, see the policy (https://x.example/p).\n\n"
        "1. Open _Orders_\n2. Press `Refund`\n\n"
        "Sources: Refund policy (https://help.example.com/refunds); Shipping"
    )


def test_a_table_is_a_monospace_block_of_aligned_columns() -> None:
    text = whatsapp_text("| Plan | Price |\n|---|--:|\n| Pro | $12 |\n| Team | $120 |", max_chars=4096)
    assert text.startswith("```") and text.endswith("```")
    assert "Pro  |   $12\nTeam |  $120" in text  # right-aligned as the table says


def test_a_reply_too_long_is_cut_at_a_paragraph_and_keeps_its_sources_in_the_customers_language() -> None:
    paragraphs = [f"Paragraph {i}: " + "word " * 40 for i in range(12)]
    with speaking("de"):
        text = whatsapp_text("\n\n".join(paragraphs), [REFUNDS], max_chars=1600)
    assert len(text) <= 1600
    assert text.endswith("(gekürzt)\n\nQuelle: Refund policy (https://help.example.com/refunds)")
    kept = text.split("\n\n(gekürzt)")[0]
    assert kept.split("\n\n")[-1].startswith("Paragraph") and kept.rstrip().endswith("word")


def test_the_window_is_24_hours_from_the_customers_last_message_less_a_margin() -> None:
    wrote = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    assert is_open(stamp(wrote), now=wrote + timedelta(hours=23, minutes=57))
    assert not is_open(stamp(wrote), now=wrote + timedelta(hours=23, minutes=59))
    assert not is_open(stamp(wrote), now=wrote + timedelta(hours=25))
    assert not is_open(None, now=wrote)  # a customer who never wrote
    assert not is_open("not a time", now=wrote)


def test_a_reply_longer_than_one_message_goes_in_parts_cut_between_paragraphs_sources_last() -> None:
    paragraphs = [f"Paragraph {i}: " + "word " * 40 for i in range(12)]
    parts = whatsapp_parts("\n\n".join(paragraphs), [REFUNDS], max_chars=1600)
    assert len(parts) > 1 and all(len(part) <= 1600 for part in parts)
    assert all(part.startswith("Paragraph") for part in parts)  # each begins a paragraph
    every_word = " ".join([*paragraphs, f"Source: Refund policy ({REFUNDS.url})"]).split()
    assert " ".join(parts).split() == every_word  # each once, in order
    assert parts[-1].endswith(f"Source: Refund policy ({REFUNDS.url})")
    assert whatsapp_parts("Short answer.", [REFUNDS], max_chars=1600) == [
        f"Short answer.\n\nSource: Refund policy ({REFUNDS.url})"
    ]
