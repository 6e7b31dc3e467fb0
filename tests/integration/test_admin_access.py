"""Who may open /admin: off without a token; with one, a signed session cookie or the Bearer
token, 401 without a hint, throttled guessing, sign-out, and CSRF on every action."""

from __future__ import annotations

import logging
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from core.admin.access import COOKIE, FAILURES
from core.server import create_app
from core.settings import AdminSettings, Settings

TOKEN = "dashboard-token-of-the-lead"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
PAGES = ["/admin", "/admin/gaps", "/admin/conversations", "/admin/cases", "/admin/knowledge", "/admin/status",
         "/admin/conversations/nope"]
JSON_ROUTES = ["/admin/api/overview", "/admin/api/gaps", "/admin/api/conversations", "/admin/api/cases",
               "/admin/api/knowledge", "/admin/api/status", "/admin/api/conversations/nope"]
ACTIONS = ["/admin/knowledge/reindex", "/admin/outbox/1/retry", "/admin/logout"]


@pytest.fixture
async def admin(aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]) -> TestClient:
    app = create_app(make_settings(admin=AdminSettings(token=SecretStr(TOKEN))))
    return await aiohttp_client(app)  # type: ignore[no-any-return]


async def sign_in(client: TestClient, token: str = TOKEN) -> Any:
    return await client.post("/admin/login", data={"token": token}, allow_redirects=False)


async def csrf_of(client: TestClient, page: str = "/admin/status") -> str:
    html = await (await client.get(page)).text()
    marker = 'name="csrf" value="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]


async def test_without_a_token_the_dashboard_is_not_there_and_the_log_says_how_to_turn_it_on(
        client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="core.admin.app"):
        for path in [*PAGES, *JSON_ROUTES, "/admin/login"]:
            response = await client.get(path)
            assert response.status == 404, path
        assert (await client.post("/admin/login", data={"token": "x"})).status == 404
    assert "set SUPPORTHUB_ADMIN__TOKEN" in caplog.text


async def test_every_page_and_json_route_refuses_without_the_token(admin: TestClient) -> None:
    for path in JSON_ROUTES:
        response = await admin.get(path)
        assert response.status == 401, path
        assert await response.text() == "Unauthorized\n"
    for path in PAGES:
        response = await admin.get(path, headers={"Accept": "text/html"}, allow_redirects=False)
        assert (response.status, response.headers["Location"]) == (303, "/admin/login"), path
    for path in ACTIONS:
        assert (await admin.post(path)).status == 401, path
    wrong = {"Authorization": "Bearer not-the-token"}
    assert (await admin.get("/admin/api/status", headers=wrong)).status == 401


async def test_the_bearer_token_opens_every_route(admin: TestClient) -> None:
    for path in PAGES[:-1] + JSON_ROUTES[:-1]:
        response = await admin.get(path, headers=BEARER)
        assert response.status == 200, (path, await response.text())
    assert (await admin.get("/admin/api/conversations/nope", headers=BEARER)).status == 404


async def test_signing_in_sets_a_signed_http_only_strict_cookie_with_an_expiry(admin: TestClient) -> None:
    response = await sign_in(admin)
    assert (response.status, response.headers["Location"]) == (303, "/admin")
    cookie = SimpleCookie(response.headers["Set-Cookie"])[COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/admin"
    assert int(cookie["max-age"]) == 12 * 3600
    assert TOKEN not in cookie.value
    page = await admin.get("/admin")
    assert page.status == 200
    assert "Messages in, per channel per day" in await page.text()


async def test_a_wrong_token_gets_401_with_no_hint_and_guessing_is_throttled(admin: TestClient) -> None:
    first = await sign_in(admin, "guess-1")
    assert first.status == 401
    assert "Sign-in failed." in await first.text()
    assert COOKIE not in first.cookies
    for n in range(2, FAILURES.amount + 1):
        assert (await sign_in(admin, f"guess-{n}")).status == 401
    throttled = await sign_in(admin)  # even the right token waits out the window
    assert throttled.status == 429
    assert 1 <= int(throttled.headers["Retry-After"]) <= 60
    assert (await admin.get("/admin/api/status", headers=BEARER)).status == 429


async def test_a_tampered_cookie_is_refused(admin: TestClient) -> None:
    await sign_in(admin)
    value = admin.session.cookie_jar.filter_cookies(admin.make_url("/admin"))[COOKIE].value
    admin.session.cookie_jar.clear()
    assert (await admin.get("/admin/api/status", headers={"Cookie": f"{COOKIE}={value}"})).status == 200
    payload, rest = value.split(".", 1)
    forged = payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + rest
    assert (await admin.get("/admin/api/status", headers={"Cookie": f"{COOKIE}={forged}"})).status == 401


async def test_signing_out_ends_the_session(admin: TestClient) -> None:
    await sign_in(admin)
    csrf = await csrf_of(admin)
    response = await admin.post("/admin/logout", data={"csrf": csrf}, allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (303, "/admin/login")
    assert (await admin.get("/admin/api/status")).status == 401


async def test_actions_from_a_cookie_session_need_the_pages_csrf_value(admin: TestClient) -> None:
    await sign_in(admin)
    for path in ACTIONS:
        assert (await admin.post(path, data={})).status == 403, path
        assert (await admin.post(path, data={"csrf": "forged"})).status == 403, path
    assert (await admin.get("/admin/api/status")).status == 200  # still signed in
