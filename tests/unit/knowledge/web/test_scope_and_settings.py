"""Which pages a source covers, spelled one way; and a source's settings refused at start-up,
with the key and the reason, when they could only go wrong later."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from knowledge.web.scope import Scope, canonical, loggable
from knowledge.web.settings import SiteSource, product_token


@pytest.mark.parametrize(
    ("url", "spelled"),
    [
        ("HTTPS://Help.Example.com:443/a/../b#section", "https://help.example.com/b"),
        ("https://help.example.com", "https://help.example.com/"),
        ("http://help.example.com:8080/x?q=1#f", "http://help.example.com:8080/x?q=1"),
        ("https://help.example.com/a b", "https://help.example.com/a%20b"),
        ("mailto:help@example.com", None),
        ("javascript:void(0)", None),
        ("ftp://files.example.com/", None),
        ("/relative/without/base", None),
    ],
)
def test_a_url_is_spelled_one_way_and_only_web_urls_count(url: str, spelled: str | None) -> None:
    assert canonical(url) == spelled


def test_a_relative_link_resolves_against_its_page() -> None:
    assert canonical("../billing#top", "https://help.example.com/help/guides/start") == (
        "https://help.example.com/help/billing"
    )


def test_logs_never_show_a_query_string() -> None:
    assert loggable("https://help.example.com/a?token=s3cret#x") == "https://help.example.com/a"


def scope(**settings: Any) -> Scope:
    return SiteSource(kind="sitemap", name="help", url="https://help.example.com/sitemap.xml", **settings).scope()


def test_scope_is_the_origin_then_allow_then_include_then_exclude() -> None:
    narrow = scope(allow=["/help/", "/faq/"], include=["/help/|/faq/billing"], exclude=[r"\?page="])

    assert narrow.contains("https://help.example.com/help/a")
    assert narrow.contains("https://help.example.com/faq/billing-cycles")
    assert not narrow.contains("https://help.example.com/faq/other")  # include
    assert not narrow.contains("https://help.example.com/help/a?page=2")  # exclude
    assert not narrow.contains("https://help.example.com/blog/a")  # allow
    assert not narrow.contains("http://help.example.com/help/a")  # another scheme
    assert not narrow.contains("https://help.example.com:8443/help/a")  # another port
    assert not narrow.contains("https://example.com/help/a")  # another host
    assert scope().contains("https://help.example.com/anything")


@pytest.mark.parametrize(
    ("settings", "key", "says"),
    [
        ({"url": "ftp://help.example.com/"}, "url", "not an http(s) URL"),
        ({"allow": ["help/"]}, "allow", "starts with '/'"),
        ({"include": ["(unclosed"]}, "include", "not a regular expression"),
        ({"exclude": ["*"]}, "exclude", "not a regular expression"),
        ({"name": "Help Centre"}, "name", "pattern"),
        ({"user_agent": "/1.0 (no token)"}, "user_agent", "product token"),
        ({"user_agent": "bot/1\r\nX-Evil: 1"}, "user_agent", "control character"),
        ({"requests_per_second": 0}, "requests_per_second", "greater than 0"),
        ({"max_pages": 0}, "max_pages", "greater than or equal to 1"),
        ({"kind": "site", "url": "https://help.example.com/", "allow": ["/help/"]}, "", "start page"),
        ({"follow_external": True}, "follow_external", "Extra inputs are not permitted"),
    ],
)
def test_a_bad_source_is_refused_naming_the_key(settings: dict[str, Any], key: str, says: str) -> None:
    given = {"kind": "sitemap", "name": "help", "url": "https://help.example.com/sitemap.xml"} | settings

    with pytest.raises(ValidationError) as refused:
        SiteSource.model_validate(given)

    error = refused.value.errors()[0]
    assert ".".join(str(part) for part in error["loc"]) == key
    assert says in error["msg"]


def test_robots_txt_is_matched_on_the_user_agents_product_token() -> None:
    assert product_token(SiteSource.model_fields["user_agent"].default) == "supporthub-knowledge"
    assert product_token("acme_help-bot/2.0 (+https://acme.example)") == "acme_help-bot"
