"""Our markdown replies as SMS bodies: the segments a carrier bills, the plain text, and the
fitting of answer, "More:" line and sources within the segments allowed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.common.plain_text import plain_text
from channels.sms.format import TWILIO_MAX_CHARS, Segments, segments, sms_body
from core.messages import Citation
from tests.unit.channels.table_replies import ESCAPED_PIPE, FORMATTED_CELL, PRICING, QUOTED, RIGHT_ALIGNED

GUIDE = Citation("https://help.example.com/reset", "Reset guide", "", 0.9)
PASSWORDS = Citation("kb/passwords.md", "Passwords", "", 0.7)
GUIDE_STEP = Citation("https://help.example.com/reset", "Reset guide", "Step 2", 0.5)
BILLING = Citation("kb/billing.md", "Billing", "", 0.4)
REFUNDS = Citation("kb/refunds.md", "Refunds", "", 0.3)
SOURCES = "Sources: Reset guide; Passwords"
MORE = "More: https://help.example.com/reset"
EMOJI = "😀"
LONG_ANSWER = " ".join(f"Step {n} of the reset is explained in this sentence, quite fully." for n in range(1, 16))


# -- segments --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Segments("GSM-7", 0, 0)),
        ("a" * 160, Segments("GSM-7", 160, 1)),
        ("a" * 161, Segments("GSM-7", 161, 2)),
        ("a" * 306, Segments("GSM-7", 306, 2)),
        ("a" * 307, Segments("GSM-7", 307, 3)),
        ("é" * 160, Segments("GSM-7", 160, 1)),  # in the GSM-7 alphabet
        ("€", Segments("GSM-7", 2, 1)),
        ("[]{}^~|\\€", Segments("GSM-7", 18, 1)),
        ("€" * 80, Segments("GSM-7", 160, 1)),
        ("€" * 81, Segments("GSM-7", 162, 2)),
        ("ж" * 70, Segments("UCS-2", 70, 1)),
        ("ж" * 71, Segments("UCS-2", 71, 2)),
        ("ж" * 134, Segments("UCS-2", 134, 2)),
        ("ж" * 135, Segments("UCS-2", 135, 3)),
        ("ç" * 10, Segments("UCS-2", 10, 1)),  # only "Ç" is GSM-7
        ("a" * 10 + EMOJI, Segments("UCS-2", 12, 1)),
        ("a" * 68 + EMOJI, Segments("UCS-2", 70, 1)),
        ("a" * 69 + EMOJI, Segments("UCS-2", 71, 2)),
    ],
)
def test_segments(text: str, expected: Segments) -> None:
    assert segments(text) == expected


def test_an_escape_pair_is_never_split_across_parts() -> None:
    # 152 septets + "€" would need 154 in the first part of 153: "€" starts the second.
    assert segments("a" * 152 + "€" + "a" * 152) == Segments("GSM-7", 306, 3)
    assert segments("a" * 151 + "€" + "a" * 153) == Segments("GSM-7", 306, 2)


def test_a_surrogate_pair_is_never_split_across_parts() -> None:
    # 66 units + an emoji would need 68 in the first part of 67: the emoji starts the second.
    assert segments("a" * 66 + EMOJI + "a" * 66) == Segments("UCS-2", 134, 3)
    assert segments("a" * 65 + EMOJI + "a" * 67) == Segments("UCS-2", 134, 2)


# -- plain text ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("", ""),
        ("**Bold**, *em*, _em_ and __bold__", "Bold, em, em and bold"),
        ("# Reset\n\nOpen *Settings*.", "Reset\n\nOpen Settings."),
        ("Reset\n===\n\ntext", "Reset\n\ntext"),
        ("- one\n- two", "- one\n- two"),
        ("* one\n+ two", "- one\n\n- two"),  # two lists
        ("1. one\n2. two", "1. one\n2. two"),
        ("3) three\n4) four", "3. three\n4. four"),
        ("- one\n  - nested\n- two", "- one\n  - nested\n- two"),
        ("1. one\n\n   more\n\n2. two", "1. one\n   more\n2. two"),
        ("Intro:\n\n- a\n- b\n\nAfter.", "Intro:\n\n- a\n- b\n\nAfter."),
        ("> Quoted\n> text\n\nAfter.", "Quoted\ntext\n\nAfter."),
        ("Run `pip install x` now.", "Run pip install x now."),
        ("```python\nprint(1)\n\nprint(2)\n```", "print(1)\n\nprint(2)"),
        ("    indented code", "indented code"),
        ("See [Reset guide](https://help.example.com/reset).", "See Reset guide: https://help.example.com/reset."),
        ("[https://example.com](https://example.com)", "https://example.com"),
        ("<https://example.com/a>", "https://example.com/a"),
        ("<help@example.com>", "help@example.com"),
        ("![Reset screen](https://example.com/r.png)", "Reset screen"),
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),
        ("Hi <b>there</b> &amp; bye", "Hi <b>there</b> & bye"),
        ("one  \ntwo\nthree", "one\ntwo\nthree"),
        ("First.\n\n\n\nSecond.", "First.\n\nSecond."),
        ("Above.\n\n---\n\nBelow.", "Above.\n\nBelow."),
    ],
)
def test_plain_text(markdown: str, expected: str) -> None:
    assert plain_text(markdown) == expected


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        (
            PRICING,
            "Here's what our help centre says in Pricing:\n\n"
            "Business: Monthly billing $20 per seat per month; Annual billing $16 per seat per month.\n"
            "Pro: Monthly billing $12 per seat per month; Annual billing $10 per seat per month.",
        ),
        (QUOTED, "From Pricing:\n\nBusiness: Monthly billing $20 per seat.\n\nAnything else?"),
        (FORMATTED_CELL, "Pro: Details All of the guide: https://help.example/pro."),
        (ESCAPED_PIPE, "Team | Pro: Seats 5 & up."),
        (RIGHT_ALIGNED, "Basic: Price $5.\nEnterprise: Price $1,200."),
        (
            "| Plan | | Note |\n|---|---|---|\n| Pro | $10 | |\n| | $5 | Trial ends. |\n| | | |",
            "Pro: $10.\n$5; Note Trial ends.",
        ),  # no header: the value alone; no label: the pairs alone
        ("| Plan | Price |\n|---|---|", "Plan; Price"),  # no rows: the header
    ],
)
def test_a_table_is_a_line_per_row_naming_each_value(markdown: str, expected: str) -> None:
    assert plain_text(markdown) == expected


def test_tables_can_be_aligned_columns_instead() -> None:
    assert plain_text(RIGHT_ALIGNED, aligned_tables=True) == (
        "Plan       |  Price\n-----------+-------\nBasic      |     $5\nEnterprise | $1,200"
    )


# -- the body --------------------------------------------------------------------------------


def test_a_short_answer_is_followed_by_its_sources_titles_only_deduplicated() -> None:
    body = sms_body("Open **Settings**, then *Reset*.", [GUIDE, PASSWORDS, GUIDE_STEP], max_segments=1)
    assert body == f"Open Settings, then Reset.\n\n{SOURCES}"


@pytest.mark.parametrize(
    ("citations", "line"),
    [
        ((), None),
        ((GUIDE, GUIDE_STEP), "Source: Reset guide"),
        ((GUIDE, PASSWORDS, BILLING, REFUNDS), "Sources: Reset guide; Passwords; Billing"),
        ((Citation("kb/x.md", "  Two\nlines ", "", 0.1),), "Source: Two lines"),
        ((Citation("kb/x.md", "", "", 0.1),), None),
    ],
)
def test_the_sources_line(citations: tuple[Citation, ...], line: str | None) -> None:
    body = sms_body("Yes.", citations, max_segments=1)
    assert body == ("Yes." if line is None else f"Yes.\n\n{line}")


def test_without_text_the_body_is_the_sources_or_nothing() -> None:
    assert sms_body("", [GUIDE], max_segments=1) == "Source: Reset guide"
    assert sms_body("#", (), max_segments=1) == ""


def test_a_long_answer_is_cut_at_a_sentence_end_and_says_where_to_read_on() -> None:
    body = sms_body(LONG_ANSWER, [GUIDE, PASSWORDS], max_segments=4)
    answer, tail = body.split("\n\n")
    assert segments(body) == Segments("GSM-7", segments(body).units, 4)
    assert tail == f"{MORE}\n{SOURCES}"
    assert answer.endswith(".") and LONG_ANSWER.startswith(answer)
    next_sentence = LONG_ANSWER[: LONG_ANSWER.index(".", len(answer)) + 1]
    assert segments(f"{next_sentence}\n\n{tail}").count > 4  # the most that fits


def test_one_emoji_makes_the_budget_ucs2() -> None:
    text = f"Done {EMOJI}. {LONG_ANSWER}"
    body = sms_body(text, [GUIDE, PASSWORDS], max_segments=4)
    answer, tail = body.split("\n\n")
    assert segments(body).encoding == "UCS-2" and segments(body).count <= 4
    assert tail == f"{MORE}\n{SOURCES}" and answer.endswith(".") and text.startswith(answer)
    assert len(answer) < len(sms_body(LONG_ANSWER, [GUIDE, PASSWORDS], max_segments=4).split("\n\n")[0]) / 2


@pytest.mark.parametrize(
    ("citations", "more"),
    [
        ((PASSWORDS, GUIDE), MORE),  # the first with a web address
        ((PASSWORDS, BILLING), "More: ask me about Passwords"),
        ((), "More: reply with a narrower question."),
    ],
)
def test_the_more_line(citations: tuple[Citation, ...], more: str) -> None:
    assert sms_body(LONG_ANSWER, citations, max_segments=2).split("\n\n")[1].split("\n")[0] == more


def test_one_segment_keeps_the_first_sentence() -> None:
    body = sms_body(LONG_ANSWER, [GUIDE, PASSWORDS], max_segments=1)
    assert body == f"Step 1 of the reset is explained in this sentence, quite fully.\n\n{MORE}\n{SOURCES}"


def test_with_a_long_url_one_segment_drops_the_sources_then_the_url() -> None:
    url = "https://help.example.com/" + "x" * 108  # with the sources, no room for a word
    body = sms_body(LONG_ANSWER, [Citation(url, "Reset guide", "", 0.9)], max_segments=1)
    assert body == f"Step 1 of the reset\n\nMore: {url}"  # a word boundary: no sentence fits

    longer = "https://help.example.com/" + "x" * 150
    body = sms_body(LONG_ANSWER, [Citation(longer, "Reset guide", "", 0.9)], max_segments=1)
    assert body.endswith(".\n\n(cut short)") and segments(body).count == 1


def test_a_word_longer_than_the_room_is_cut_inside() -> None:
    body = sms_body("x" * 500, (), max_segments=1)
    assert (
        body
        == "x" * (160 - len("\n\nMore: reply with a narrower question.")) + "\n\nMore: reply with a narrower question."
    )


def test_a_hard_cut_keeps_an_emoji_whole() -> None:
    body = sms_body(EMOJI * 100, (), max_segments=1)
    answer = body.split("\n\n")[0]
    assert set(answer) == {EMOJI} and segments(body) == Segments("UCS-2", 70 - 1, 1)


@pytest.mark.parametrize("max_segments", [10, 20])
def test_a_huge_answer_stays_within_twilio_limit(max_segments: int) -> None:
    body = sms_body(LONG_ANSWER * 30, [GUIDE, PASSWORDS], max_segments=max_segments)
    assert len(body) <= TWILIO_MAX_CHARS and segments(body).count <= max_segments
    assert len(body) > 1400  # 10 segments hold 1,530 septets; 20, 3,060: Twilio's limit binds


def test_max_segments_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        sms_body("Hi.", max_segments=0)


_GSM_CHARS = [*"abcdefXYZ019 .,!?\n€[]|éñ*_#->()"]
_OTHER_CHARS = [EMOJI, "ç", "’", "`"]


def _texts(chars: list[str]) -> st.SearchStrategy[str]:
    """Short texts and long ones, which have to be cut."""
    words = st.text(st.sampled_from(chars), min_size=1, max_size=15)
    return st.text(st.sampled_from(chars), max_size=100) | st.lists(words, min_size=30, max_size=300).map(" ".join)


_TEXTS = _texts(_GSM_CHARS) | _texts(_GSM_CHARS * 8 + _OTHER_CHARS)
_CITATIONS = st.lists(
    st.sampled_from(
        [GUIDE, PASSWORDS, BILLING, REFUNDS, Citation("https://example.com/" + "y" * 150, "Tarifs € 😀", "", 0.1)]
    ),
    max_size=4,
)


@settings(deadline=None)
@given(text=_TEXTS, citations=_CITATIONS, max_segments=st.integers(1, 10))
def test_every_body_fits(text: str, citations: list[Citation], max_segments: int) -> None:
    body = sms_body(text, citations, max_segments=max_segments)
    assert segments(body).count <= max_segments and len(body) <= TWILIO_MAX_CHARS
    if plain_text(text).strip() or citations:
        assert body.strip()


def test_a_long_quote_without_sentence_ends_is_cut_inside_not_dropped() -> None:
    table = " ".join(f"Plan{n} ${n}0 per seat per month" for n in range(40))
    body = sms_body(f"Here's what our help centre says in Pricing:\n\n> {table}", max_segments=2)
    assert "Plan0 $00 per seat per month Plan1" in body and segments(body).count <= 2
