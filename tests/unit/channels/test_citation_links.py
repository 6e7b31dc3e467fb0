"""A document with a public address (a web page, a file whose front matter or folder gives it
one, an article pushed with its URL) is cited as a link to that address on every channel, while
its name in the index stays a file's; a citation with no address stays its name."""

from __future__ import annotations

from datetime import UTC, datetime

from channels.email.format import email_html, email_text
from channels.slack.format import render_mrkdwn
from channels.sms.format import sms_body
from channels.telegram.format import telegram_parts
from core.messages import Author, Citation, StoredMessage, citation_json

URL = "https://help.example.com/articles/billing/refunds"
LINKED = Citation("help/billing/refunds.md", "Refunds", "How long a refund takes", 0.9, url=URL)
UNLINKED = Citation("help/security.md", "Security", "", 0.6)
ANSWER = "Refunds reach your card within **five working days**."


def test_the_address_is_the_link_and_the_file_name_is_never_shown_as_one() -> None:
    assert LINKED.link == URL and UNLINKED.link is None
    assert citation_json(LINKED)["url"] == URL and citation_json(UNLINKED)["url"] == ""
    assert Citation(URL, "Refunds", "", 0.5).link == URL  # a source that is an address (older replies)
    assert Citation("notes.md", "Notes", "", 0.5, url="javascript:alert(1)").link is None


def test_slack_links_the_cited_title_to_the_address() -> None:
    message = StoredMessage(1, "c", Author.BOT, ANSWER, (LINKED, UNLINKED), False, datetime(2026, 1, 1, tzinfo=UTC))
    assert render_mrkdwn(message).endswith(f"*Sources:* <{URL}|Refunds › How long a refund takes> · _Security_")


def test_telegram_links_the_cited_title_to_the_address() -> None:
    [part] = telegram_parts(ANSWER, [LINKED, UNLINKED])
    assert f'<a href="{URL}">Refunds › How long a refund takes</a>' in part
    assert "<i>Security</i>" in part


def test_email_links_the_cited_title_to_the_address_in_html_and_text() -> None:
    assert f'<a href="{URL}">Refunds › How long a refund takes</a>' in email_html(ANSWER, [LINKED, UNLINKED])
    assert URL in email_text(ANSWER, [LINKED, UNLINKED])


def test_an_sms_cut_short_points_to_the_address() -> None:
    long_answer = " ".join(["Refunds reach your card within five working days of the return."] * 12)
    body = sms_body(long_answer, [LINKED], max_segments=2)
    assert f"More: {URL}" in body
