"""Our markdown replies as mail: the subject, the safe HTML, the plain text, and the threaded
multipart/alternative message as a mail client (and our own inbound parser) reads it back."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.email.content import parse_mail
from channels.email.format import (
    MAX_REFERENCES,
    ThreadHeaders,
    email_html,
    email_text,
    reply_message,
    reply_subject,
)
from core.messages import Citation
from tests.unit.channels.table_replies import ESCAPED_PIPE, FORMATTED_CELL, PRICING, QUOTED, RIGHT_ALIGNED

GUIDE_STEP = Citation("https://help.example.com/reset", "Reset guide", "Step 2", 0.9)
PASSWORDS = Citation("kb/passwords.md", "Passwords", "", 0.7)
SOURCES_TEXT = "Sources:\nReset guide › Step 2: https://help.example.com/reset\nPasswords"
ANSWER = "# Reset\n\n**First** open *Settings*.\n\n- one\n- [the guide](https://help.example.com/reset?a=1&b=2)"
OUTLOOK_ID = "AM0PR04MB6619C5E52F0D4F5D2E7F3A11B9E12@AM0PR04MB6619.eurprd04.prod.outlook.com"
"""Long enough that the standard library would fold it into RFC 2047 encoded words."""
THREAD = ThreadHeaders("Frage zur Rechnung – März", "c3@mail.example.de", ("c1@mail.example.de", "c2@mail.example.de"))
ALLOWED_TAGS = {
    "html",
    "head",
    "meta",
    "body",
    "div",
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "strong",
    "em",
    "code",
    "pre",
    "ul",
    "ol",
    "li",
    "a",
    "blockquote",
    "hr",
    "br",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ALLOWED_ATTRIBUTES = {"charset", "name", "content", "style", "href", "title", "start"}


class _Document(HTMLParser):
    """Every tag and attribute of a document, to check what it may hold."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [(name, value or "") for name, value in attrs]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(document: str) -> _Document:
    parser = _Document()
    parser.feed(document)
    parser.close()
    return parser


def body(document: str) -> str:
    match = re.search(r"<body[^>]*>(.*)</body>", document, re.DOTALL)
    assert match, document
    return match.group(1)


def assert_safe(document: str) -> None:
    """Only the tags and attributes we write; links to http, https and mailto only; no
    scripts, no event handlers, nothing loaded from anywhere."""
    found = parsed(document)
    assert set(found.tags) <= ALLOWED_TAGS, set(found.tags) - ALLOWED_TAGS
    for name, value in found.attributes:
        assert name in ALLOWED_ATTRIBUTES, name
        if name == "href":
            assert re.match(r"(https?|mailto):", value), value
        if name == "style":
            assert "url(" not in value and "expression" not in value, value


# -- subject ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Billing", "Re: Billing"),
        ("Re: Billing", "Re: Billing"),
        ("RE: re: AW: Billing", "Re: Billing"),
        ("", "Re: Your question"),
        ("   ", "Re: Your question"),
        ("Re:", "Re: Your question"),
        ("Sv: Antw: Aw: Billing", "Re: Billing"),
        ("Re[2]: Re (3): Re : Billing", "Re: Billing"),
        ("  Re:  Billing \t question ", "Re: Billing question"),
        ("Fwd: Invoice", "Re: Fwd: Invoice"),  # the reply answers the forward
        ("Regarding billing", "Re: Regarding billing"),
        ("Billing: Re: refund", "Re: Billing: Re: refund"),  # only leading prefixes go
        ("Frage zur Rechnung – März", "Re: Frage zur Rechnung – März"),
    ],
)
def test_reply_subject(subject: str, expected: str) -> None:
    assert reply_subject(subject) == expected


# -- html ------------------------------------------------------------------------------------


def test_html_is_a_small_complete_document() -> None:
    document = email_html(ANSWER)
    assert document.startswith('<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">')
    assert document.endswith("</body>\n</html>\n")
    assert_safe(document)


def test_html_escapes_raw_html_and_ampersands() -> None:
    document = email_html("<script>alert(1)</script> Tom & Jerry <b>bold?</b>")
    assert "<script" not in document and "<b>" not in document
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Tom &amp; Jerry &lt;b&gt;bold?&lt;/b&gt;" in body(document)
    assert_safe(document)


def test_html_keeps_formatting_lists_and_links() -> None:
    content = body(email_html(ANSWER + "\n\n1. first\n2. `a<b>`\n\nmail <help@example.com>"))
    assert "<h1>Reset</h1>" in content
    assert "<p><strong>First</strong> open <em>Settings</em>.</p>" in content
    assert '<li><a href="https://help.example.com/reset?a=1&amp;b=2">the guide</a></li>' in content
    assert "<ol>\n<li>first</li>" in content
    assert re.search(r"<li><code style=\"[^\"]*\">a&lt;b&gt;</code></li>", content)
    assert '<a href="mailto:help@example.com">help@example.com</a>' in content


@pytest.mark.parametrize(
    "link",
    [
        "[click here](javascript:alert(1))",
        "[click here](JavaScript:alert(document.cookie))",
        "[click here](&#106;avascript:alert(1))",
        "[click here](vbscript:msgbox)",
        "[click here](data:text/html;base64,PHNjcmlwdD4=)",
        "[click here](file:///etc/passwd)",
        "[click here](/relative/path)",
        "[click here](ftp://files.example.com)",
    ],
)
def test_html_shows_a_link_to_another_scheme_as_its_text(link: str) -> None:
    document = email_html(f"Please {link} now.")
    assert "<p>Please click here now.</p>" in body(document)
    assert "<a" not in body(document)


def test_html_shows_a_javascript_autolink_as_text() -> None:
    content = body(email_html("See <javascript:alert(1)>"))
    assert "<a" not in content and "<p>See javascript:alert(1)</p>" in content


def test_html_shows_an_image_as_its_alt_text_and_loads_nothing() -> None:
    document = email_html("Our ![company logo](https://tracker.example/pixel.png?u=1) here")
    assert "<p>Our company logo here</p>" in body(document)
    assert "tracker.example" not in document and "<img" not in document


def test_html_styles_code_quotes_and_tables_inline() -> None:
    document = email_html("> quoted\n\n```python\nprint('<hi>')\n```\n\n| a | b |\n|--:|---|\n| 1 | 2 |")
    content = body(document)
    assert re.search(r'<blockquote style="[^"]+">\n<p>quoted</p>', content)
    assert re.search(r"<pre style=\"[^\"]+\">print\('&lt;hi&gt;'\)</pre>", content)
    assert re.search(r'<td style="text-align:right;[^"]+">1</td>', content)  # the column's alignment kept
    assert "<style" not in document
    assert_safe(document)


def test_html_sources_are_links_or_names() -> None:
    content = body(email_html("Done.", [GUIDE_STEP, PASSWORDS, GUIDE_STEP]))
    assert content.index("<p>Done.</p>") < content.index("<strong>Sources</strong>")
    assert re.findall(r"<li>.*?</li>", content) == [
        '<li><a href="https://help.example.com/reset">Reset guide › Step 2</a></li>',
        "<li>Passwords</li>",
    ]


def test_html_escapes_source_labels_and_addresses() -> None:
    citation = Citation('https://example.com/?a=1&b="2"', "Tips <b> & tricks", "", 0.5)
    content = body(email_html("x", [citation]))
    assert '<a href="https://example.com/?a=1&amp;b=&quot;2&quot;">Tips &lt;b&gt; &amp; tricks</a>' in content


def test_html_without_citations_has_no_sources() -> None:
    assert "Sources" not in email_html("Done.")


_FRAGMENTS = st.sampled_from(
    [
        "<script>",
        "</script>",
        "<img src=x onerror=alert(1)>",
        "&",
        "&amp;",
        '"',
        "'",
        "[",
        "]",
        "(",
        ")",
        "!",
        "*",
        "_",
        "`",
        "```\n",
        "# ",
        "- ",
        "1. ",
        "> ",
        "\n",
        "\n\n",
        " ",
        "|",
        "---",
        "javascript:",
        "https://x.example/",
        "mailto:",
        "data:",
        "<",
        ">",
        "text",
        "&#106;",
        "%6A",
        "\\",
        "<https://x.example>",
        "<a@b.example>",
        "<javascript:x>",
    ]
)


@settings(deadline=None)
@given(st.lists(_FRAGMENTS, max_size=30).map("".join) | st.text(max_size=200))
def test_html_of_any_markdown_is_safe(text: str) -> None:
    assert_safe(email_html(text, [GUIDE_STEP, Citation("javascript:alert(1)", "Evil", "", 0.1)]))


# -- text ------------------------------------------------------------------------------------


def test_text_is_plain_with_sources_and_their_addresses() -> None:
    assert email_text(ANSWER, [GUIDE_STEP, PASSWORDS, GUIDE_STEP]) == (
        "Reset\n\nFirst open Settings.\n\n- one\n- the guide: https://help.example.com/reset?a=1&b=2\n\n" + SOURCES_TEXT
    )


def test_text_has_no_markdown_markers() -> None:
    text = email_text(ANSWER + "\n\n> *quoted* `code`\n\n## Next\n\n__strong__ and _em_")
    assert not re.search(r"\*|`|^#|\]\(|__|\b_em_\b", text, re.MULTILINE), text


@pytest.mark.parametrize(
    ("citation", "line"),
    [
        (
            Citation("https://help.example.com/reset", "Reset guide", "", 0.5),
            "Reset guide: https://help.example.com/reset",
        ),
        (
            Citation("https://help.example.com/reset", "Reset guide", "Reset guide", 0.5),
            "Reset guide: https://help.example.com/reset",
        ),
        (Citation("https://help.example.com/reset", "", "", 0.5), "https://help.example.com/reset"),
        (Citation("kb/billing.md", "Billing", "Refunds", 0.5), "Billing › Refunds"),
        (Citation("kb/billing.md", "", "", 0.5), "kb/billing.md"),
        (Citation("javascript:alert(1)", "Evil", "", 0.5), "Evil"),  # no address but a web one is shown
    ],
)
def test_text_source_lines(citation: Citation, line: str) -> None:
    assert email_text("", [citation]) == f"Sources:\n{line}"


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        (
            PRICING,
            "Here's what our help centre says in Pricing:\n\n"
            "Plan     | Monthly billing        | Annual billing\n"
            "---------+------------------------+-----------------------\n"
            "Business | $20 per seat per month | $16 per seat per month\n"
            "Pro      | $12 per seat per month | $10 per seat per month",
        ),
        (
            QUOTED,
            "From Pricing:\n\nPlan     | Monthly billing\n---------+----------------\nBusiness | $20 per seat"
            "\n\nAnything else?",
        ),
        (
            FORMATTED_CELL,
            "Plan | Details\n"
            "-----+-------------------------------------------\n"
            "Pro  | All of the guide: https://help.example/pro",
        ),
        (ESCAPED_PIPE, "Plan       | Seats\n-----------+-------\nTeam | Pro | 5 & up"),
        (RIGHT_ALIGNED, "Plan       |  Price\n-----------+-------\nBasic      |     $5\nEnterprise | $1,200"),
    ],
)
def test_text_shows_a_table_as_aligned_columns(markdown: str, expected: str) -> None:
    assert email_text(markdown) == expected


def test_text_of_nothing_is_empty() -> None:
    assert email_text("") == ""
    assert email_text("Done.") == "Done."


# -- the message -----------------------------------------------------------------------------


def build(
    *,
    text: str = ANSWER,
    citations: tuple[Citation, ...] = (GUIDE_STEP, PASSWORDS),
    thread: ThreadHeaders = THREAD,
    automatic: bool = True,
) -> tuple[EmailMessage, str, bytes]:
    """The reply as the wire carries it: re-parsed from its bytes, its id, and the bytes."""
    message, message_id = reply_message(
        text=text,
        citations=citations,
        to="Jana Müller <jana@kunde.example.de>",
        from_address="help@support.example.com",
        display_name="Suppört",
        domain="support.example.com",
        thread=thread,
        automatic=automatic,
    )
    raw = message.as_bytes()
    reread = message_from_bytes(raw, policy=policy.default)
    assert isinstance(reread, EmailMessage)
    return reread, message_id, raw


def header_line(raw: bytes, name: str) -> str:
    """A header as written, its folded lines joined."""
    match = re.search(rf"^{name}: (.*(?:\n[ \t].*)*)", raw.decode("ascii"), re.MULTILINE | re.IGNORECASE)
    assert match, name
    return " ".join(match.group(1).split())


def test_message_addresses_and_subject_survive_the_round_trip() -> None:
    message, _, raw = build()
    [sender] = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Suppört", "help@support.example.com")
    [recipient] = message["To"].addresses
    assert (recipient.display_name, recipient.addr_spec) == ("Jana Müller", "jana@kunde.example.de")
    assert message["Subject"] == "Re: Frage zur Rechnung – März"
    assert message["Date"].datetime.tzinfo is not None
    raw.decode("ascii")  # 7-bit clean: any relay takes it, with or without SMTPUTF8 or 8BITMIME


def test_message_id_is_ours_and_returned() -> None:
    message, message_id, _ = build()
    assert message["Message-ID"] == f"<{message_id}>"
    assert message_id.endswith("@support.example.com")
    assert build()[1] != message_id


def test_message_threads_under_the_customers_mail() -> None:
    message, _, _ = build()
    assert message["In-Reply-To"] == "<c3@mail.example.de>"
    assert message["References"] == "<c1@mail.example.de> <c2@mail.example.de> <c3@mail.example.de>"


@pytest.mark.parametrize(
    ("references", "in_reply_to", "expected"),
    [
        ((), "p@x", ["p@x"]),
        (("a@x", "b@x", "a@x", "b@x"), "p@x", ["a@x", "b@x", "p@x"]),
        (("a@x", "p@x", "b@x"), "p@x", ["a@x", "b@x", "p@x"]),  # the parent stays last
        (("<a@x>", " b@x "), "<p@x>", ["a@x", "b@x", "p@x"]),  # brackets and spaces tolerated
        (("a@x", "bad id@x", "ö@x", ""), "p@x", ["a@x", "p@x"]),  # not valid ids: they would be encoded
        (tuple(f"r{n}@x" for n in range(30)), "p@x", ["r0@x", *(f"r{n}@x" for n in range(12, 30)), "p@x"]),
        (tuple(f"r{n}@x" for n in range(19)), "p@x", [*(f"r{n}@x" for n in range(19)), "p@x"]),
    ],
)
def test_references_are_deduplicated_and_bounded(
    references: tuple[str, ...], in_reply_to: str, expected: list[str]
) -> None:
    message, _, _ = build(thread=ThreadHeaders("Billing", in_reply_to, references))
    assert message["References"] == " ".join(f"<{id_}>" for id_ in expected)
    assert len(expected) <= MAX_REFERENCES
    assert message["In-Reply-To"] == "<p@x>"


def test_long_ids_are_written_as_ids_not_encoded_words() -> None:
    """A client threads on the literal id: the standard library would fold a long one into
    `=?utf-8?q?...?=` pieces that no client reads as an id."""
    message, message_id, raw = build(thread=ThreadHeaders("Billing", OUTLOOK_ID, (OUTLOOK_ID + "x",)))
    assert header_line(raw, "In-Reply-To") == f"<{OUTLOOK_ID}>"
    assert header_line(raw, "References") == f"<{OUTLOOK_ID}x> <{OUTLOOK_ID}>"
    assert header_line(raw, "Message-ID") == f"<{message_id}>"
    assert message["In-Reply-To"] == f"<{OUTLOOK_ID}>"


def test_a_new_thread_has_no_thread_headers() -> None:
    message, _, _ = build(thread=ThreadHeaders("Billing", None, ("a@x",)))
    assert "In-Reply-To" not in message and "References" not in message
    assert message["Subject"] == "Re: Billing"


def test_message_is_text_then_html() -> None:
    message, _, _ = build()
    assert message.get_content_type() == "multipart/alternative"
    plain, rich = message.iter_parts()
    assert [plain.get_content_type(), rich.get_content_type()] == ["text/plain", "text/html"]
    assert isinstance(plain, EmailMessage) and isinstance(rich, EmailMessage)
    assert plain.get_content() == email_text(ANSWER, [GUIDE_STEP, PASSWORDS]) + "\n"
    assert rich.get_content() == email_html(ANSWER, [GUIDE_STEP, PASSWORDS])


def test_a_table_arrives_as_columns_in_the_text_part_and_a_table_in_the_html() -> None:
    message, _, _ = build(text=PRICING, citations=())
    plain, rich = message.iter_parts()
    assert isinstance(plain, EmailMessage) and isinstance(rich, EmailMessage)
    assert plain.get_content().splitlines()[2:] == [
        "Plan     | Monthly billing        | Annual billing",
        "---------+------------------------+-----------------------",
        "Business | $20 per seat per month | $16 per seat per month",
        "Pro      | $12 per seat per month | $10 per seat per month",
    ]
    row = r'<tr>\n<td style="[^"]+">Pro</td>\n<td style="[^"]+">\$12 per seat per month</td>'
    assert re.search(row, rich.get_content())


def test_non_ascii_bodies_survive_the_round_trip() -> None:
    message, _, _ = build(text="Grüße aus München – **✓** 😀", citations=())
    plain, rich = message.iter_parts()
    assert isinstance(plain, EmailMessage) and isinstance(rich, EmailMessage)
    assert plain.get_content() == "Grüße aus München – ✓ 😀\n"
    assert "<p>Grüße aus München – <strong>✓</strong> 😀</p>" in rich.get_content()


@pytest.mark.parametrize(("automatic", "expected"), [(True, "auto-replied"), (False, None)])
def test_auto_submitted_only_on_bot_replies(automatic: bool, expected: str | None) -> None:
    message, _, _ = build(automatic=automatic)
    assert message["Auto-Submitted"] == expected


@pytest.mark.parametrize(("automatic", "reason"), [(True, "Auto-Submitted: auto-replied"), (False, None)])
def test_our_inbound_parser_reads_the_reply(automatic: bool, reason: str | None) -> None:
    """A bot reply that came back to us (a forward, a misrouted copy) would not be answered;
    a staff reply reads as a person's mail; the thread keys are the ones we wrote."""
    _, message_id, raw = build(automatic=automatic)
    mail = parse_mail(raw)
    assert mail.automatic == reason
    assert (mail.message_id, mail.in_reply_to) == (message_id, ("c3@mail.example.de",))
    assert mail.references == ("c1@mail.example.de", "c2@mail.example.de", "c3@mail.example.de")
    assert (mail.sender, mail.sender_name, mail.thread_subject) == (
        "help@support.example.com",
        "Suppört",
        "frage zur rechnung – märz",
    )
    assert mail.text.startswith("Reset\n\nFirst open Settings.")


def test_a_domain_is_required() -> None:
    with pytest.raises(ValueError, match="domain"):
        reply_message(
            text="x",
            citations=(),
            to="a@b.example",
            from_address="help@support.example.com",
            display_name="",
            domain="",
            thread=THREAD,
            automatic=True,
        )
