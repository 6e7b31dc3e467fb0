"""What no database stores is cleaned out of text from outside, and nothing else is touched."""

from __future__ import annotations

import pytest

from core.clean_text import clean, clean_message
from core.messages import Address, Attachment, InboundMessage


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("How do I reset my password?", "How do I reset my password?"),
        ("nul\x00here\x00", "nulhere"),
        ("lone \ud83d surrogate", "lone \ufffd surrogate"),
        ("\udfff", "\ufffd"),
        ("a mail byte \udce9", "a mail byte \ufffd"),
        ("a pair in halves \ud83d\ude00", "a pair in halves \U0001f600"),
        ("both\x00 \ud800", "both \ufffd"),
        ("tabs\tbells\x07 and emoji \U0001f600 stay", "tabs\tbells\x07 and emoji \U0001f600 stay"),
    ],
)
def test_nul_goes_and_lone_surrogates_become_the_replacement_character(raw: str, cleaned: str) -> None:
    assert clean(raw) == cleaned
    assert clean(raw).encode("utf-8").decode("utf-8") == cleaned  # encodable, as every driver needs


def test_every_string_of_a_message_is_cleaned() -> None:
    message = InboundMessage(
        address=Address("email", "ana\udce9@customer.example", "<id\x00@customer.example>"),
        external_id="<id\x00@customer.example>",
        sender_id="ana\udce9@customer.example",
        text="Hello\x00 \ud83d",
        sender_name="Ana \udcc3",
        attachments=(Attachment("r\x00eport.txt", "text/plain\x00", b"\x00 bytes stay \x00", problem="p\ud800"),),
        verified_email="ana\x00@customer.example",
        verified_phone="+4915\x00",
    )
    cleaned = clean_message(message)
    assert cleaned.address == Address("email", "ana\ufffd@customer.example", "<id@customer.example>")
    assert (cleaned.external_id, cleaned.sender_id, cleaned.text, cleaned.sender_name) == (
        "<id@customer.example>",
        "ana\ufffd@customer.example",
        "Hello \ufffd",
        "Ana \ufffd",
    )
    assert cleaned.attachments == (Attachment("report.txt", "text/plain", b"\x00 bytes stay \x00", problem="p\ufffd"),)
    assert (cleaned.verified_email, cleaned.verified_phone) == ("ana@customer.example", "+4915")
