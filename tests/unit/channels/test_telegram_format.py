"""Our markdown replies as Telegram HTML messages: the rendering, the escaping, the sources,
and the cutting into messages Telegram accepts (well-formed, within 4,096 visible characters)."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.telegram.format import MAX_MESSAGE_LENGTH, RULE, telegram_parts, visible_length
from core.messages import Citation
from tests.unit.channels.table_replies import ESCAPED_PIPE, FORMATTED_CELL, PRICING, QUOTED, RIGHT_ALIGNED

UNLIMITED = 10**9
_TOKENS = re.compile(r'(?:[^<>&]|&(?:amp|lt|gt|quot);|</?(?:b|i|code|pre)>|<a href="[^"<>]*">|</a>)*', re.DOTALL)
"""Everything a part may hold: text, the four entities Telegram knows, the five tags we use."""


class _Entities(HTMLParser):
    """Telegram's rules for nesting: b, i and a nest with each other (a link not in a link);
    code and pre nest with nothing."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in {"b", "i", "code", "pre", "a"}, f"<{tag}> is not allowed"
        assert not {"code", "pre"} & set(self.open), f"<{tag}> inside {self.open}"
        assert tag not in {"code", "pre"} or not self.open, f"<{tag}> inside {self.open}"
        assert tag not in self.open, f"<{tag}> inside <{tag}>"
        if tag == "a":
            [(name, href)] = attrs
            assert name == "href" and href is not None and href.split(":")[0] in {"http", "https", "mailto", "tg"}
        else:
            assert attrs == []
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open}"
        self.open.pop()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise AssertionError(f"<{tag}/> is not allowed")


def assert_well_formed(part: str) -> None:
    assert _TOKENS.fullmatch(part), f"a stray < or & or an unknown tag in {part!r}"
    parser = _Entities()
    parser.feed(part)
    parser.close()
    assert parser.open == [], f"left open: {parser.open}"
    assert visible(part).strip(), "an empty part"


def visible(part: str) -> str:
    return html.unescape(re.sub(r"<[^>]*>", "", part))


def unspaced(parts: list[str]) -> str:
    return re.sub(r"\s+", "", "".join(visible(part) for part in parts))


def one(text: str, citations: tuple[Citation, ...] = ()) -> str:
    [part] = telegram_parts(text, citations)
    assert_well_formed(part)
    return part


# -- rendering -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("**bold** and *italic* and __also__", "<b>bold</b> and <i>italic</i> and <b>also</b>"),
        ("***both***", "<i><b>both</b></i>"),
        ("use `x < y && z`", "use <code>x &lt; y &amp;&amp; z</code>"),
        ("**a `b` c**", "<b>a </b><code>b</code><b> c</b>"),  # code nests in nothing
        ("```python\nif a < b:\n    pass\n```", "<pre>if a &lt; b:\n    pass</pre>"),
        ("    indented code", "<pre>indented code</pre>"),
        ("[the docs](https://example.com/a?b=1&c=2)", '<a href="https://example.com/a?b=1&amp;c=2">the docs</a>'),
        ("[**bold** `code`](tg://resolve?domain=x)", '<a href="tg://resolve?domain=x"><b>bold</b> code</a>'),
        ("<https://example.com>", '<a href="https://example.com">https://example.com</a>'),
        ("<help@example.com>", '<a href="mailto:help@example.com">help@example.com</a>'),
        ("[relative](/pricing)", "relative"),
        ("# Title *here*", "<b>Title <i>here</i></b>"),
        ("one\ntwo  \nthree", "one\ntwo\nthree"),
        ("first\n\nsecond", "first\n\nsecond"),
        ("- one\n- two\n  - nested\n    more", "• one\n• two\n  • nested\n    more"),
        ("3. three\n4. four", "3. three\n4. four"),
        ("intro\n\n- a\n- b\n\nafter", "intro\n\n• a\n• b\n\nafter"),
        ("> quoted **words**\n> here", "│ quoted <b>words</b>\n│ here"),
        ("---", RULE),
        ("![a cat](https://example.com/cat.png)", "a cat"),
        (
            "| Plan | Price |\n|:--|--:|\n| Basic | 5 |\n| Pro | 25 |",
            "<pre>Plan  | Price\n------+------\nBasic |     5\nPro   |    25</pre>",
        ),
    ],
)
def test_markdown_becomes_telegram_html(markdown: str, expected: str) -> None:
    assert one(markdown) == expected


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        (
            PRICING,
            "Here's what our help centre says in <b>Pricing</b>:\n\n"
            "<pre>Plan     | Monthly billing        | Annual billing\n"
            "---------+------------------------+-----------------------\n"
            "Business | $20 per seat per month | $16 per seat per month\n"
            "Pro      | $12 per seat per month | $10 per seat per month</pre>",
        ),
        # the quote's bar joins the code block on every line, the first too, so the columns line up
        (
            QUOTED,
            "From <b>Pricing</b>:\n\n"
            "<pre>│ Plan     | Monthly billing\n"
            "│ ---------+----------------\n"
            "│ Business | $20 per seat</pre>\n\n"
            "Anything else?",
        ),
        (FORMATTED_CELL, "<pre>Plan | Details\n-----+-----------------\nPro  | All of the guide</pre>"),
        (ESCAPED_PIPE, "<pre>Plan       | Seats\n-----------+-------\nTeam | Pro | 5 &amp; up</pre>"),
        (
            RIGHT_ALIGNED,
            "<pre>Plan       |  Price\n-----------+-------\nBasic      |     $5\nEnterprise | $1,200</pre>",
        ),
        ("| Qty | Item |\n| --: | --- |\n| 10000 | Seats |", "<pre>  Qty | Item\n------+------\n10000 | Seats</pre>"),
    ],
)
def test_a_table_is_aligned_columns_in_pre(markdown: str, expected: str) -> None:
    assert one(markdown) == expected


def test_a_table_cut_into_messages_is_cut_at_line_ends_and_keeps_its_columns() -> None:
    rows = "".join(f"| {n} | Plan {n} |\n" for n in (5, 50, 500, 5000))
    parts = telegram_parts(f"Prices:\n\n| Seats | Plan |\n| --: | --- |\n{rows}", limit=30)
    for part in parts:
        assert_well_formed(part)
        assert visible_length(part) <= 30
    assert parts == [
        "Prices:",
        "<pre>Seats | Plan\n------+----------</pre>",
        "<pre>    5 | Plan 5\n   50 | Plan 50</pre>",
        "<pre>  500 | Plan 500</pre>",
        "<pre> 5000 | Plan 5000</pre>",
    ]


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("AT&T <b>", "AT&amp;T &lt;b&gt;"),
        ("<div>\n<b>block html</b>\n</div>", "&lt;div&gt;\n&lt;b&gt;block html&lt;/b&gt;\n&lt;/div&gt;"),
        ("`<b>` **<i>**", "<code>&lt;b&gt;</code> <b>&lt;i&gt;</b>"),
    ],
)
def test_html_in_an_answer_is_text(markdown: str, expected: str) -> None:
    assert expected in one(f"Before {markdown} after")


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("[click](javascript:alert(1))", "click"),  # its text, as every channel shows a link it does not keep
        ("[click](JAVASCRIPT:alert(1))", "click"),
        ("<javascript:alert(1)>", "javascript:alert(1)"),
        ("[click](data:text/html,hi)", "click"),
        ("[click](ftp://example.com/x)", "click"),
        ("[click](file:///etc/passwd)", "click"),
    ],
)
def test_a_link_to_another_scheme_is_not_a_link(markdown: str, expected: str) -> None:
    assert one(markdown) == expected


def test_sources_follow_the_answer_as_links_or_names_once_each() -> None:
    citations = (
        Citation('https://help.example.com/billing?x=1&y="2"', "Billing", "Refunds", 0.9),
        Citation("handbook.pdf", "Handbook", "Handbook", 0.8),
        Citation('https://help.example.com/billing?x=1&y="2"', "Billing", "Refunds", 0.7),
        Citation("notes.md", "Notes", "", 0.6),
        Citation("http://old.example.com", "Old <FAQ>", "A & B", 0.5),
    )
    assert one("The answer.", citations) == (
        "The answer.\n\n<b>Sources:</b>\n"
        '<a href="https://help.example.com/billing?x=1&amp;y=&quot;2&quot;">Billing › Refunds</a>\n'
        "<i>Handbook</i>\n"
        "<i>Notes</i>\n"
        '<a href="http://old.example.com">Old &lt;FAQ&gt; › A &amp; B</a>'
    )


def test_nothing_to_show_is_no_message_and_sources_alone_are_one() -> None:
    assert telegram_parts("") == []
    assert telegram_parts(" \n\n  ") == []
    assert telegram_parts("", [Citation("a.md", "A", "", 1.0)]) == ["<b>Sources:</b>\n<i>A</i>"]


# -- lengths and cutting -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html_text", "length"),
    [("plain", 5), ('<b>a</b> &amp; <a href="https://x.y/?a=1&amp;b=2">b</a>', 5), ("😀", 2), ("<i>é😀</i>\n", 4)],
)
def test_visible_length_counts_utf16_units_of_the_shown_text(html_text: str, length: int) -> None:
    assert visible_length(html_text) == length


def test_an_emoji_counts_two() -> None:
    parts = telegram_parts("😀" * 30, limit=20)
    assert parts == ["😀" * 10] * 3


def sentence(number: int) -> str:
    return f"Sentence {number:04d} explains one more detail of how refunds reach the original card."


def test_a_long_answer_is_cut_between_paragraphs_and_a_long_paragraph_at_sentence_ends() -> None:
    paragraphs = [" ".join(sentence(100 * p + s) for s in range(5)) for p in range(30)]
    assert {len(paragraph) for paragraph in paragraphs} == {394}
    long_paragraph = " ".join(sentence(5000 + n) for n in range(77))
    assert len(long_paragraph) == 6082
    text = "\n\n".join([*paragraphs[:15], long_paragraph, *paragraphs[15:]])

    parts = telegram_parts(text)

    assert len(parts) > 4
    for part in parts:
        assert_well_formed(part)
        assert visible_length(part) <= MAX_MESSAGE_LENGTH
        assert visible(part).endswith(".")  # every cut at the end of a sentence
    assert unspaced(parts) == unspaced(telegram_parts(text, limit=UNLIMITED))
    assert all(sum(paragraph in visible(part) for part in parts) == 1 for paragraph in paragraphs)
    assert visible(parts[0]).startswith(sentence(0))


def test_a_cut_inside_formatting_closes_it_and_opens_it_again() -> None:
    bold = " ".join(["Bold words here."] * 20)
    parts = telegram_parts(f"**{bold}** [link {'text ' * 12}](https://x.y)", limit=60)
    for part in parts:
        assert_well_formed(part)
        assert visible_length(part) <= 60
    assert all(part.startswith("<b>") and part.endswith("</b>") for part in parts[:5])
    assert parts[-1].startswith('<a href="https://x.y">') and parts[-1].endswith("</a>")


def test_code_is_cut_at_line_ends_and_a_word_longer_than_a_message_anywhere() -> None:
    code = "\n".join(f"line {n}. x = {n}" for n in range(40))
    parts = telegram_parts(f"```\n{code}\n```\n\n{'x' * 130}", limit=50)
    for part in parts:
        assert_well_formed(part)
        assert visible_length(part) <= 50
    assert all(part.startswith("<pre>line ") and part.endswith("</pre>") for part in parts[:-3])
    assert [visible(part) for part in parts[-3:]] == ["x" * 50, "x" * 50, "x" * 30]


def test_a_limit_below_one_emoji_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        telegram_parts("hello", limit=1)


WORDS = ("lorem", "ipsum", "dolor")
PIECES = (
    *WORDS,
    " ",
    " ",
    "\n",
    "\n\n",
    "*",
    "**",
    "_",
    "`",
    "```",
    "[x](http://a)",
    "<",
    "&",
    "- ",
    "> ",
    "# ",
    "1. ",
    "| ",
    "|---|---|",
    "😀",
    ".",
    "    ",
)


@settings(deadline=None)
@given(text=st.lists(st.sampled_from(PIECES), max_size=120).map("".join), limit=st.integers(10, 500))
def test_any_reply_becomes_well_formed_parts_within_the_limit_losing_nothing(text: str, limit: int) -> None:
    parts = telegram_parts(text, limit=limit)

    for part in parts:
        assert_well_formed(part)
        assert visible_length(part) <= limit
    whole = telegram_parts(text, limit=UNLIMITED)
    assert unspaced(parts) == unspaced(whole)
    if "```" not in text:  # a fence's info string (```lorem) is not shown
        shown = "".join(visible(part) for part in whole)
        assert [shown.count(word) for word in WORDS] == [text.count(word) for word in WORDS]
