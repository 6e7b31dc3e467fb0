"""The knowledge API as a help centre's CMS webhook uses it: a changed article pushed with the
admin token is searchable and cited with its public URL once the index run it starts is done;
pushed again it is replaced, deleted it is gone; a re-index of the folders keeps it. Without
the token, or with a body that is not an article, it is refused with the reason."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from core.cli.server import RUNTIME, create_app
from core.settings import Settings
from knowledge.settings import KnowledgeSettings
from tests.app_client import AppClient
from tests.integration.test_suggestions import BEARER, serve
from tests.settle import until
from tests.unit.knowledge.test_written import write_articles

DOCUMENTS = "/api/knowledge/documents"
ARTICLE_URL = "https://help.example.com/hc/articles/4412-gift-cards"
GIFT_CARDS = """# Gift cards

## Redeeming a gift card

Enter the sixteen-digit gift card code at checkout under "Add a gift card". A card can pay
for part of an order; the rest goes on your usual payment method.

## Gift card expiry

Gift cards never expire and can be used across several orders.
"""


@pytest.fixture
async def hub(aiohttp_client: Callable[..., Any], tmp_path: Path) -> AppClient:
    return await serve(aiohttp_client, tmp_path)


async def search(hub: AppClient, query: str) -> list[dict[str, Any]]:
    response = await hub.get("/api/search", params={"q": query, "k": "3"})
    assert response.status == 200, await response.text()
    hits: list[dict[str, Any]] = await response.json()
    return hits


@pytest.mark.slow("each push re-indexes in a child process")
async def test_a_pushed_article_is_cited_with_its_url_replaced_when_pushed_again_and_gone_once_deleted(
    hub: AppClient,
) -> None:
    pushed = await hub.post(
        f"{DOCUMENTS}?wait=true",
        json={"id": "4412", "title": "Gift cards", "url": ARTICLE_URL, "content": GIFT_CARDS},
        headers=BEARER,
    )
    assert pushed.status == 200, await pushed.text()
    body = await pushed.json()
    assert (body["source"], body["change"], body["indexed"]) == ("api/4412", "added", True)

    [hit, *_] = await search(hub, "do gift cards expire")
    assert (hit["source"], hit["section"], hit["url"]) == ("api/4412", "Gift card expiry", ARTICLE_URL)
    answer = await hub.post("/api/messages", json={"contact": "ria@example.com", "text": "Do gift cards expire?"})
    reply = (await answer.json())["reply"]
    assert reply["citations"][0]["url"] == ARTICLE_URL, reply

    changed = GIFT_CARDS.replace("Gift cards never expire", "Gift cards expire two years after purchase")
    again = await hub.post(
        f"{DOCUMENTS}?wait=true", json={"id": "4412", "url": ARTICLE_URL, "content": changed}, headers=BEARER
    )
    assert (again.status, (await again.json())["change"]) == (200, "updated")
    [hit, *_] = await search(hub, "do gift cards expire")
    assert "two years after purchase" in hit["text"]

    gone = await hub.delete(f"{DOCUMENTS}/4412?wait=true", headers=BEARER)
    assert gone.status == 200, await gone.text()
    assert all(hit["source"] != "api/4412" for hit in await search(hub, "gift card code at checkout"))
    again_gone = await hub.delete(f"{DOCUMENTS}/4412", headers=BEARER)
    assert again_gone.status == 404
    assert "no pushed document" in (await again_gone.json())["error"]


@pytest.mark.slow("re-indexes in a child process")
async def test_an_html_article_is_pushed_without_waiting_and_kept_by_a_reindex_of_the_folders(hub: AppClient) -> None:
    html = (
        "<html><head><title>Store credit</title></head><body><h1>Store credit</h1>"
        "<p>Store credit from a return is added to your account within <b>two days</b>.</p>"
        "<ul><li>It never expires.</li><li>It cannot be paid out in cash.</li></ul></body></html>"
    )
    queued = await hub.post(DOCUMENTS, json={"id": "store-credit", "format": "html", "content": html}, headers=BEARER)
    assert queued.status == 202, await queued.text()
    assert (await queued.json())["indexed"] is False

    async def found() -> dict[str, Any] | None:
        hits = await search(hub, "when is store credit from a return added")
        return next((hit for hit in hits if hit["source"] == "api/store-credit"), None)

    hit = await until(found, timeout=120, what="the pushed article to be searchable")
    assert "<" not in hit["text"] and "two days" in hit["text"]
    assert re.search(r"^[-*] It never expires\.$", hit["text"], re.MULTILINE), hit["text"]  # still a list

    # the scheduled run (a re-index of the folders) has no file of that name and keeps it
    summary = await hub.app[RUNTIME].reindexer.run("schedule:test")
    assert summary.removed == 0
    assert await found() is not None


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"content": "text"}, "id: Field required"),
        ({"id": "../etc", "content": "text"}, "id: String should match pattern"),
        ({"id": "a1", "content": "   "}, "content: Value error, must not be empty"),
        ({"id": "a1", "content": "x", "url": "javascript:alert(1)"}, "url: Value error, must be an http"),
        ({"id": "a1", "content": "x", "format": "pdf"}, "format: Input should be 'markdown', 'html' or 'text'"),
        ({"id": "a1", "content": "x", "owner": "me"}, "owner: Extra inputs are not permitted"),
    ],
)
async def test_a_body_that_is_not_an_article_is_refused_with_the_reason(
    hub: AppClient, body: dict[str, str], reason: str
) -> None:
    response = await hub.post(DOCUMENTS, json=body, headers=BEARER)
    assert response.status == 400
    assert reason in (await response.json())["error"]


async def test_not_json_and_too_large_are_refused(hub: AppClient) -> None:
    not_json = await hub.post(DOCUMENTS, data=b"{not json", headers=BEARER)
    assert (not_json.status, (await not_json.json())["error"]) == (400, "the body is not JSON")
    huge = await hub.post(DOCUMENTS, json={"id": "big", "content": "x" * 2_100_000}, headers=BEARER)
    assert huge.status == 413


async def test_without_the_token_nothing_is_stored(hub: AppClient) -> None:
    article = {"id": "4412", "content": GIFT_CARDS}
    assert (await hub.post(DOCUMENTS, json=article)).status == 401
    assert (await hub.post(DOCUMENTS, json=article, headers={"Authorization": "Bearer wrong"})).status == 401
    assert (await hub.delete(f"{DOCUMENTS}/4412")).status == 401
    assert all(hit["source"] != "api/4412" for hit in await search(hub, "gift card code at checkout"))


async def test_a_hub_without_an_admin_token_says_how_to_turn_the_api_on(
    aiohttp_client: Callable[..., Any], tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}",
        knowledge=KnowledgeSettings(paths=[write_articles(tmp_path)]),
    )
    client: AppClient = await aiohttp_client(create_app(settings))
    response = await client.post(DOCUMENTS, json={"id": "4412", "content": GIFT_CARDS})
    assert response.status == 403
    assert "admin.token" in (await response.json())["error"]
