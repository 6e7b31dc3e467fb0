"""A page's main content, on pages modelled on the help-centre platforms companies use
(tests/fixtures/web/): the article's passages, headings, lists and tables are in the markdown;
the cookie banner, navigation, sidebar, votes, related articles and footer are not."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.web.extraction import UnreadablePage, read_page

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "web"
PAGES = {
    "zendesk_guide": (
        "How do I reset my password?",
        [
            "valid for 60 minutes",
            "## Reset it from the sign-in page",
            "1. Go to the sign-in page and click **Forgot password?**",
            "- Check your spam or junk folder.",
            "| Business | 14 characters | Every 180 days |",
            "Still stuck?",
        ],
        ["cookies", "Submit a request", "Articles in this section", "Was this article helpful", "Related articles"],
    ),
    "intercom": (
        "Exporting your data",
        [
            "## Start an export",
            "3. Click **Request export**.",
            "| **Item** | **CSV** | **JSON** |\n|---|---|---|\n| Projects | Yes | Yes |",
            "### Limits",
        ],
        ["cookie", "Advice and answers", "Written by", "Related Articles", "Did this answer", "All Collections"],
    ),
    "docs_site": (
        "Configure webhooks",
        ["## Create an endpoint", "| 2 | 10 minutes |", "### Verify the signature", "`Initech-Signature`"],
        ["Skip to main content", "release notes", "Edit this page", "Previous", "Copyright", "On this page"],
    ),
    "wordpress_kb": (
        "Shipping times and costs",
        ["## Delivery options", "| Next day | Next working day | £7.95 |", "- DPD parcels"],
        ["cookies", "Basket", "Was this article helpful", "Leave a Reply", "Popular Articles", "Registered in England"],
    ),
    "divs_only": (
        "Two-factor authentication",
        ["six-digit code", "## Turn it on", "2. Scan the QR code", "## Lost your phone?"],
        ["Log out", "cookies", "Support topics", "Hooli Inc"],
    ),
    "tiny": ("Contact us", ["Email help@example.com."], ["Help home", "Billing", "Example Inc"]),
}


@pytest.mark.parametrize("name", PAGES)
def test_the_main_content_is_kept_with_its_structure_and_the_chrome_dropped(name: str) -> None:
    title, kept, dropped = PAGES[name]

    page = read_page((FIXTURES / f"{name}.html").read_bytes(), url="https://help.example.com/a", charset=None)

    assert page.title == title
    assert page.markdown.startswith(f"# {title}\n\n")
    assert page.markdown.count(f"# {title}\n") == 1
    for passage in kept:
        assert passage in page.markdown
    for phrase in dropped:
        assert phrase.lower() not in page.markdown.lower()


def test_links_are_resolved_against_the_base_and_nofollow_ones_left_out() -> None:
    html = b"""<html><head><base href="/help/"><title>T</title></head><body><main>
    <p>See <a href="billing#top">billing</a>, <a href="/help/billing">it again</a>,
    <a href="https://other.example/x">elsewhere</a>, <a href="mailto:a@b.c">mail</a>,
    <a rel="nofollow" href="/signin">sign in</a>.</p></main></body></html>"""

    page = read_page(html, url="https://help.example.com/start", charset=None)

    assert page.links == ("https://help.example.com/help/billing", "https://other.example/x")


def test_a_page_asking_robots_not_to_follow_gives_no_links() -> None:
    html = b"""<html><head><meta name="ROBOTS" content="noindex, nofollow"></head>
    <body><main><p>Draft: <a href="/help/secret">secret</a></p></main></body></html>"""

    assert read_page(html, url="https://help.example.com/", charset=None).links == ()


def test_the_servers_charset_wins_and_a_missing_one_is_guessed() -> None:
    html = "<html><head><title>Fußball</title></head><body><main><h1>Fußball</h1><p>Größe: 42.</p></main></body></html>"

    named = read_page(html.encode("latin-1"), url="https://help.example.com/", charset="iso-8859-1")
    guessed = read_page(html.encode("utf-8"), url="https://help.example.com/", charset=None)

    assert named.title == guessed.title == "Fußball"
    assert "Größe: 42." in named.markdown and "Größe: 42." in guessed.markdown


def test_a_title_keeps_its_words_and_loses_only_the_sites_suffix() -> None:
    def title_of(head: str, body: str = "") -> str:
        html = f"<html><head>{head}</head><body><main>{body}<p>Some text for the page.</p></main></body></html>"
        return read_page(html.encode(), url="https://help.example.com/", charset=None).title

    assert title_of("<title>Import - export FAQ</title>") == "Import - export FAQ"
    assert title_of("<title>Billing | Acme Help Center</title>") == "Billing"
    assert title_of(
        '<meta property="og:title" content="Refunds – Acme"><meta property="og:site_name" content="Acme">'
    ) == ("Refunds")
    assert title_of("<title>Invoices — Acme Support</title>", "<h1>Invoices</h1>") == "Invoices"
    assert title_of("", "<h1>Only a heading</h1>") == "Only a heading"


def test_a_table_whose_header_cells_are_plain_cells_still_reads_as_a_table() -> None:
    html = b"""<html><head><title>Rates</title></head><body><article><h1>Rates</h1>
    <p>What each delivery costs, by service, for orders shipped within the country.</p>
    <table><tr><td><b>Service</b></td><td><b>Cost</b></td></tr><tr><td>Standard</td><td>4</td></tr>
    <tr><td>Express</td><td>9</td></tr></table></article></body></html>"""

    page = read_page(html, url="https://help.example.com/", charset=None)

    assert "| **Service** | **Cost** |\n|---|---|\n| Standard | 4 |\n| Express | 9 |" in page.markdown


def test_a_page_with_nothing_to_read_is_unreadable() -> None:
    with pytest.raises(UnreadablePage):
        read_page(b"<html><head></head><body></body></html>", url="https://help.example.com/", charset=None)
