"""A crawl of the fake help centre, as the people running the hub would see it: the articles'
main content and nothing of the chrome; an unchanged site costs a 304 a page; robots.txt is
obeyed to the letter; a page that fails keeps its place, a page gone is said to be gone; and a
crawl that could not see everything says so."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from knowledge.web.crawl import CrawlResult, Seen, crawl
from knowledge.web.settings import DEFAULT_USER_AGENT
from tests.fakes.help_site import CHROME_PHRASES, FakeHelpSite, article
from tests.unit.knowledge.web.conftest import source_for

LISTED = ("/help/", "/help/getting-started", "/help/billing", "/help/billing/refunds")
"""The listed pages that answer 200 on a first crawl (`/help/whats-new` answers 404 once)."""


def remember(known: Mapping[str, Seen], result: CrawlResult) -> dict[str, Seen]:
    """What the caller keeps after a crawl: the pages' Seen, minus the pages gone."""
    kept = {url: seen for url, seen in known.items() if url not in result.gone}
    return kept | {page.url: page.seen for page in result.pages}


def paths(site: FakeHelpSite, urls: list[str]) -> set[str]:
    return {url.removeprefix(site.url) for url in urls}


async def test_a_page_becomes_its_article_as_markdown_without_the_sites_chrome(help_site: FakeHelpSite) -> None:
    result = await crawl(source_for(help_site), {})

    page = next(page for page in result.pages if page.url == help_site.url_of("/help/getting-started"))
    assert page.title == "Getting started"
    assert page.markdown.startswith("# Getting started\n")
    for heading in ("## Create your workspace", "## Invite your team", "## Plans and seats"):
        assert f"\n{heading}\n" in page.markdown
    assert "1. Sign in to your account." in page.markdown
    assert "- Admins can invite anyone." in page.markdown
    assert "| Plan | Seats | Price |\n|---|---|---|\n| Starter | 5 | $10 |\n| Team | 50 | $99 |" in page.markdown
    for phrase in CHROME_PHRASES:
        assert phrase not in page.markdown


async def test_a_sitemap_crawl_reads_every_listed_page_and_says_it_saw_them_all(help_site: FakeHelpSite) -> None:
    result = await crawl(source_for(help_site), {})

    assert paths(help_site, [page.url for page in result.pages]) == set(LISTED)
    assert result.complete
    assert result.failed == [] and result.listing_errors == []
    assert not help_site.requests_to("/blog/")  # linked from every page, but a sitemap crawl follows no links


async def test_an_unchanged_site_costs_one_304_a_page_and_only_the_changed_page_comes_back(
    help_site: FakeHelpSite,
) -> None:
    source = source_for(help_site)
    known = remember({}, await crawl(source, {}))
    known = remember(known, await crawl(source, known))  # /help/whats-new is there now
    help_site.change("/help/billing", article("Billing and invoices", "<p>Invoices now come on the 15th.</p>"))
    before = len(help_site.requests)

    result = await crawl(source, known)

    assert [page.url for page in result.pages] == [help_site.url_of("/help/billing")]
    assert "Invoices now come on the 15th." in result.pages[0].markdown
    assert paths(help_site, result.unchanged) == {*LISTED, "/help/whats-new"} - {"/help/billing"}
    pages_asked = [request for request in help_site.requests[before:] if request.path.startswith("/help/")]
    assert sorted(request.status for request in pages_asked) == [200] + [304] * 4
    assert all(request.headers["If-None-Match"] for request in pages_asked)
    assert result.complete


async def test_a_page_with_no_etag_is_asked_if_modified_since_and_one_with_no_validator_is_read_again(
    help_site: FakeHelpSite,
) -> None:
    help_site.add("/help/dated", article("Dated", "<p>Served with a Last-Modified only.</p>"), etag=False)
    help_site.serve("/help/bare", article("Bare", "<p>Served with no validator at all.</p>"))
    help_site.listed.append("/help/bare")
    source = source_for(help_site)
    first = await crawl(source, {})
    dated = next(page for page in first.pages if page.url == help_site.url_of("/help/dated"))
    assert dated.seen.etag is None and dated.seen.last_modified

    second = await crawl(source, remember({}, first))

    assert help_site.url_of("/help/dated") in second.unchanged
    asked = help_site.requests_to("/help/dated")[-1]
    assert asked.headers["If-Modified-Since"] == dated.seen.last_modified and "If-None-Match" not in asked.headers
    assert help_site.url_of("/help/bare") in [page.url for page in second.pages]


async def test_robots_txt_disallowed_pages_are_never_requested(help_site: FakeHelpSite) -> None:
    for kind in ("sitemap", "site"):
        result = await crawl(source_for(help_site, kind, allow=[]), {})

        assert help_site.url_of("/private/staff-notes") in result.skipped_by_robots
        assert help_site.url_of("/private/staff-notes") not in [page.url for page in result.pages]
    assert help_site.requests_to("/private/") == []


async def test_robots_txt_rules_for_our_product_token_win_over_the_catch_all(help_site: FakeHelpSite) -> None:
    help_site.serve(
        "/robots.txt",
        "User-agent: *\nDisallow: /private/\n\nUser-agent: supporthub-knowledge\nDisallow: /help/billing\n",
        content_type="text/plain",
    )

    result = await crawl(source_for(help_site), {})

    assert help_site.requests_to("/help/billing") == []
    assert paths(help_site, result.skipped_by_robots) == {"/help/billing", "/help/billing/refunds"}
    assert help_site.requests_to("/private/")  # that group does not disallow it
    assert {request.headers["User-Agent"] for request in help_site.requests} == {DEFAULT_USER_AGENT}


async def test_a_page_that_404s_once_is_gone_then_back(help_site: FakeHelpSite) -> None:
    source = source_for(help_site)

    first = await crawl(source, {})
    second = await crawl(source, remember({}, first))

    whats_new = help_site.url_of("/help/whats-new")
    assert first.gone == [whats_new] and first.complete
    assert [page.url for page in second.pages] == [whats_new]
    assert "Dark mode arrived" in second.pages[0].markdown


async def test_a_page_answering_500_is_failed_and_keeps_its_place(help_site: FakeHelpSite) -> None:
    source = source_for(help_site)
    known = remember({}, await crawl(source, {}))
    help_site.fail("/help/billing", status=500)

    result = await crawl(source, known)

    assert result.failed == [(help_site.url_of("/help/billing"), "HTTP 500")]
    assert help_site.url_of("/help/billing") not in result.gone
    assert result.complete  # the listing was whole: a failure says nothing of other pages


@pytest.mark.parametrize(
    ("body", "content_type", "chunked", "reason"),
    [
        (b"%PDF-1.7 ...", "application/pdf", False, "not a web page (application/pdf)"),
        (b"<p>" + b"x" * 20_000 + b"</p>", "text/html", False, "too big (20007 bytes; the cap is 10000)"),
        (b"<p>" + b"x" * 20_000 + b"</p>", "text/html", True, "too big (more than 10000 bytes)"),
    ],
    ids=["pdf", "too-big", "too-big-chunked"],
)
async def test_a_page_that_is_no_web_page_or_too_big_is_failed_with_the_reason(
    help_site: FakeHelpSite, body: bytes, content_type: str, chunked: bool, reason: str
) -> None:
    help_site.serve("/help/odd", body, content_type=content_type, chunked=chunked)
    help_site.listed.append("/help/odd")

    result = await crawl(source_for(help_site, max_page_bytes=10_000), {})

    assert result.failed == [(help_site.url_of("/help/odd"), reason)]
    assert len(result.pages) == len(LISTED)


async def test_a_page_that_does_not_answer_in_time_is_failed(help_site: FakeHelpSite) -> None:
    help_site.stall("/help/billing")

    result = await crawl(source_for(help_site, timeout_s=1.0), {})

    assert result.failed == [(help_site.url_of("/help/billing"), "no answer within 1 s")]


async def test_max_pages_stops_the_crawl_and_marks_it_incomplete(help_site: FakeHelpSite) -> None:
    result = await crawl(source_for(help_site, max_pages=2), {})

    assert len(result.pages) + len(result.gone) == 2
    assert len([request for request in help_site.requests if request.path.startswith("/help/")]) == 2
    assert not result.complete


async def test_a_site_crawl_follows_links_within_allow_only(help_site: FakeHelpSite) -> None:
    result = await crawl(source_for(help_site, "site"), {})

    assert paths(help_site, [page.url for page in result.pages]) == set(LISTED)
    assert paths(help_site, result.gone) == {"/help/whats-new"}
    assert result.complete
    assert help_site.requests_to("/blog/") == [] and help_site.requests_to("/private/") == []
    billing = next(page for page in result.pages if page.url == help_site.url_of("/help/billing"))
    assert help_site.url_of("/help/billing/refunds") in billing.seen.links
    assert help_site.url_of("/blog/launch") not in billing.seen.links


async def test_a_site_crawl_reaches_a_page_linked_only_from_a_page_that_answered_304(
    help_site: FakeHelpSite,
) -> None:
    source = source_for(help_site, "site")
    known = remember({}, await crawl(source, {}))
    known = remember(known, await crawl(source, known))  # /help/whats-new is there now
    help_site.change("/help/billing/refunds", article("Refund policy", "<p>Refunds within 60 days now.</p>"))

    result = await crawl(source, known)

    assert help_site.url_of("/help/billing") in result.unchanged
    assert [page.url for page in result.pages] == [help_site.url_of("/help/billing/refunds")]
    assert result.complete


async def test_a_site_crawl_that_lost_a_branch_says_it_is_incomplete_unless_it_knew_the_branchs_links(
    help_site: FakeHelpSite,
) -> None:
    source = source_for(help_site, "site")
    known = remember({}, await crawl(source, {}))
    help_site.fail("/help/billing", status=503)

    knowing = await crawl(source, known)
    fresh = await crawl(source, {})

    refunds = help_site.url_of("/help/billing/refunds")
    assert refunds in knowing.unchanged and knowing.complete  # reached through billing's known links
    assert refunds not in [page.url for page in fresh.pages] and not fresh.complete


async def test_a_site_crawl_whose_start_page_does_not_answer_is_incomplete(help_site: FakeHelpSite) -> None:
    help_site.remove("/help/")

    result = await crawl(source_for(help_site, "site"), {})

    assert result.gone == [help_site.url_of("/help/")] and not result.complete


async def test_a_page_redirected_out_of_scope_is_gone(help_site: FakeHelpSite) -> None:
    help_site.redirect("/help/launch", "/blog/launch", listed=True)

    result = await crawl(source_for(help_site, allow=["/help/"]), {})

    assert help_site.url_of("/help/launch") in result.gone
    assert help_site.requests_to("/blog/") == []


async def test_a_redirect_on_the_site_is_followed_and_the_page_named_by_where_it_led(
    help_site: FakeHelpSite,
) -> None:
    help_site.add("/help/workspaces", article("Workspaces", "<p>A workspace holds your projects.</p>"), listed=False)
    help_site.redirect("/help/old-workspaces", "/help/workspaces", listed=True)

    result = await crawl(source_for(help_site), {})

    assert help_site.url_of("/help/workspaces") in [page.url for page in result.pages]
    assert help_site.url_of("/help/old-workspaces") not in [page.url for page in result.pages]


async def test_a_redirect_to_another_host_is_refused(help_site: FakeHelpSite) -> None:
    elsewhere = help_site.url.replace("127.0.0.1", "localhost")  # the same server under another name
    help_site.redirect("/help/moved", f"{elsewhere}/help/landing?token=secret", listed=True)

    result = await crawl(source_for(help_site), {})

    reason = f"redirected off the site, to {elsewhere}"
    assert result.failed == [(help_site.url_of("/help/moved"), reason)]
    assert help_site.requests_to("/help/landing") == []


async def test_a_redirect_loop_is_failed_after_five_hops(help_site: FakeHelpSite) -> None:
    help_site.redirect("/help/loop-a", "/help/loop-b", listed=True)
    help_site.redirect("/help/loop-b", "/help/loop-a")

    result = await crawl(source_for(help_site), {})

    assert (help_site.url_of("/help/loop-a"), "more than 5 redirects") in result.failed
    assert len(help_site.requests_to("/help/loop-")) == 6


async def test_an_unreadable_robots_txt_means_nothing_is_fetched(help_site: FakeHelpSite) -> None:
    help_site.serve("/robots.txt", "down for maintenance", status=503, content_type="text/plain")
    known = {help_site.url_of("/help/billing"): Seen(etag='"x"', last_modified=None)}

    result = await crawl(source_for(help_site), known)

    assert [request.path for request in help_site.requests] == ["/robots.txt"]
    assert not result.complete
    assert result.gone == [] and result.pages == []
    assert result.listing_errors == [(help_site.url_of("/robots.txt"), f"{help_site.url_of('/robots.txt')}: HTTP 503")]


async def test_a_site_that_does_not_answer_at_all_is_reported_unreachable(help_site: FakeHelpSite) -> None:
    source = source_for(help_site)
    await help_site.stop()

    result = await crawl(source, {})

    assert not result.complete and result.pages == [] and result.gone == []
    [(url, reason)] = result.listing_errors
    assert url == help_site.url_of("/robots.txt") and "connection failed (ClientConnectorError: " in reason


async def test_no_robots_txt_means_everything_may_be_fetched(help_site: FakeHelpSite) -> None:
    help_site.serve("/robots.txt", "not found", status=404, content_type="text/plain")

    result = await crawl(source_for(help_site), {})

    assert help_site.url_of("/private/staff-notes") in [page.url for page in result.pages]
    assert result.complete


async def test_crawl_delay_slows_the_crawl_to_what_the_site_asks(help_site: FakeHelpSite) -> None:
    help_site.serve("/robots.txt", "User-agent: *\nCrawl-delay: 0.2\n", content_type="text/plain")
    help_site.serve("/sitemap.xml", b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>')

    slowed = await crawl(source_for(help_site), {})
    faster_asked = await crawl(source_for(help_site, requests_per_second=4), {})

    assert slowed.request_interval_s == 0.2
    assert faster_asked.request_interval_s == 0.25  # our own rate, when slower, stays


async def test_known_pages_now_out_of_scope_or_disallowed_are_gone_without_a_request(
    help_site: FakeHelpSite,
) -> None:
    known = {
        help_site.url_of("/help/billing"): Seen(etag='"a"', last_modified=None),
        help_site.url_of("/private/staff-notes"): Seen(etag='"b"', last_modified=None),
    }

    result = await crawl(source_for(help_site, exclude=["/billing$"]), known)

    assert paths(help_site, result.gone) == {"/help/billing", "/private/staff-notes", "/help/whats-new"}
    assert not [request for request in help_site.requests if request.path in ("/help/billing", "/private/staff-notes")]


async def test_progress_counts_pages_done_against_pages_listed(help_site: FakeHelpSite) -> None:
    calls: list[tuple[int, int]] = []

    await crawl(source_for(help_site), {}, progress=lambda done, total: calls.append((done, total)))

    assert [done for done, _ in calls] == [1, 2, 3, 4, 5]
    assert calls[-1] == (5, 5)
