from __future__ import annotations

import pytest

from core.quoting import literal, unescaped


@pytest.mark.parametrize(
    ("customer_text", "quoted"),
    [
        ("invoice-2026.pdf", "invoice-2026.pdf"),
        ("[click me](https://evil.example/phish).txt", r"\[click me\]\(https\://evil.example/phish\).txt"),
        ("**urgent** `rm -rf` <b>x</b>", r"\*\*urgent\*\* \`rm -rf\` \<b\>x\</b\>"),
        ("photo\u202egpj.exe", "photogpj.exe"),  # a right-to-left override would show "photoexe.jpg"
        ("two\nlines\tand\x1b[31m colour", "two lines and \\[31m colour"),
        ("back\\slash", "back\\\\slash"),
    ],
)
def test_customer_text_is_quoted_as_literal_words(customer_text: str, quoted: str) -> None:
    assert literal(customer_text) == quoted


def test_unescaping_gives_back_the_words_without_bidi_or_control_characters() -> None:
    assert unescaped(literal("[a](b) *c* \u2066d\u2069 back\\slash")) == "[a](b) *c* d back\\slash"
