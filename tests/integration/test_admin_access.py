"""Who may open /admin: off without a token; with one, a signed session cookie or the Bearer
token, 401 without a hint, throttled guessing, sign-out, and CSRF on every action."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from typing import Any

import pytest
from pydantic import SecretStr

from core.answering.calibration import Calibration
from core.cli.server import RUNTIME, create_app
from core.ops.access import COOKIE, FAILURES
from core.settings import AdminSettings, Settings
from core.store.calibrations import save
from tests.app_client import AppClient
from tests.fakes.tcp_proxy import CuttableProxy

TOKEN = "dashboard-token-of-the-lead"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
PAGES = [
    "/admin/inbox",
    "/admin/staff",
    "/admin",
    "/admin/gaps",
    "/admin/conversations",
    "/admin/cases",
    "/admin/knowledge",
    "/admin/status",
    "/admin/replies",
    "/admin/rehearsals",
    "/admin/conversations/nope",
]
JSON_ROUTES = [
    "/admin/api/inbox",
    "/admin/api/overview",
    "/admin/api/gaps",
    "/admin/api/wrong-answers",
    "/admin/api/conversations",
    "/admin/api/cases",
    "/admin/api/knowledge",
    "/admin/api/status",
    "/admin/api/replies",
    "/admin/api/rehearsals",
    "/admin/api/conversations/nope",
]
ACTIONS = [
    "/admin/knowledge/reindex",
    "/admin/outbox/1/retry",
    "/admin/logout",
    "/admin/staff/invite",
    "/admin/staff/remove",
    "/admin/replies",
    "/admin/replies/1",
    "/admin/replies/1/delete",
    *(f"/admin/inbox/1/{action}" for action in ["reply", "note", "assign", "claim"]),  # claim|resolve|return: one route
]
PUBLIC = {"/admin/login", "/admin/invite/1"}
"""Signing in, and an invitation's page (the link is the credential)."""


@pytest.fixture
async def admin(aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]) -> AppClient:
    app = create_app(make_settings(admin=AdminSettings(token=SecretStr(TOKEN))))
    return await aiohttp_client(app)  # type: ignore[no-any-return]


async def sign_in(client: AppClient, token: str = TOKEN) -> Any:
    return await client.post("/admin/login", data={"token": token}, allow_redirects=False)


async def csrf_of(client: AppClient, page: str = "/admin/status") -> str:
    html = await (await client.get(page)).text()
    marker = 'name="csrf" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


async def test_without_a_token_the_dashboard_is_not_there_and_the_log_says_how_to_turn_it_on(
    client: AppClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="core.admin.app"):
        for path in [*PAGES, *JSON_ROUTES, "/admin/login"]:
            response = await client.get(path)
            assert response.status == 404, path
        assert (await client.post("/admin/login", data={"token": "x"})).status == 404
    assert "set SUPPORTHUB_ADMIN__TOKEN" in caplog.text


def admin_routes(client: AppClient) -> list[tuple[str, str]]:
    """Every route the app serves under /admin, with a sample value for its placeholders."""
    found = []
    for route in client.app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if path.startswith("/admin") and route.method != "HEAD":
            found.append(
                (route.method, re.sub(r"\{(\w+)[^}]*\}", lambda m: "claim" if m[1] == "action" else "1", path))
            )
    return found


async def test_every_page_json_route_and_action_refuses_without_the_token(admin: AppClient) -> None:
    routes = admin_routes(admin)
    assert {path for _, path in routes} >= {*PAGES[:-1], *JSON_ROUTES[:-1], *ACTIONS, *PUBLIC}
    for method, path in routes:
        if path in PUBLIC:
            continue
        response = await admin.request(method, path)
        assert response.status == 401, (method, path)
        assert await response.text() == "Unauthorized\n"
    for path in PAGES:
        response = await admin.get(path, headers={"Accept": "text/html"}, allow_redirects=False)
        assert (response.status, response.headers["Location"]) == (303, "/admin/login"), path
    wrong = {"Authorization": "Bearer not-the-token"}
    assert (await admin.get("/admin/api/status", headers=wrong)).status == 401


async def test_the_bearer_token_opens_every_route(admin: AppClient) -> None:
    for path in PAGES[:-1] + JSON_ROUTES[:-1]:
        response = await admin.get(path, headers=BEARER)
        assert response.status == 200, (path, await response.text())
    assert (await admin.get("/admin/api/conversations/nope", headers=BEARER)).status == 404
    slash = await admin.get("/admin/", headers=BEARER, allow_redirects=False)
    assert (slash.status, slash.headers["Location"]) == (303, "/admin")


async def test_signing_in_sets_a_signed_http_only_strict_cookie_with_an_expiry(admin: AppClient) -> None:
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


async def test_a_wrong_token_gets_401_with_no_hint_and_guessing_is_throttled_without_locking_out_operators(
    admin: AppClient,
) -> None:
    await sign_in(admin)
    signed_in_cookie = admin.session.cookie_jar.filter_cookies(admin.make_url("/admin"))[COOKIE].value
    admin.session.cookie_jar.clear()
    first = await sign_in(admin, "guess-1")
    assert first.status == 401
    assert "Sign-in failed." in await first.text()
    assert COOKIE not in first.cookies
    for n in range(2, FAILURES.amount):
        assert (await sign_in(admin, f"guess-{n}")).status == 401
    assert (await admin.get("/metrics", headers={"Authorization": "Bearer guess-at-metrics"})).status == 401
    throttled = await sign_in(admin, "guess-at-the-form")
    assert throttled.status == 429
    assert 1 <= int(throttled.headers["Retry-After"]) <= 60
    assert (await admin.get("/metrics", headers={"Authorization": "Bearer another-guess"})).status == 429
    # those already holding the token or a session are not locked out by someone guessing
    assert (await admin.get("/admin/api/status", headers=BEARER)).status == 200
    assert (await admin.get("/metrics", headers=BEARER)).status == 200
    assert (await admin.get("/admin/api/status", headers={"Cookie": f"{COOKIE}={signed_in_cookie}"})).status == 200


async def test_an_operator_who_mistyped_the_token_five_times_signs_in_with_the_right_one(admin: AppClient) -> None:
    for n in range(FAILURES.amount):
        assert (await sign_in(admin, f"typo-{n}")).status == 401
    assert (await sign_in(admin, "typo-again")).status == 429  # the address is past its failures
    response = await sign_in(admin)
    assert (response.status, response.headers["Location"]) == (303, "/admin")
    assert COOKIE in response.cookies
    assert (await admin.get("/admin/api/status")).status == 200


async def test_a_hung_redis_holds_up_one_mistyped_sign_in_then_none_and_the_right_token_signs_in(
    aiohttp_client: Callable[..., Any],
    make_settings: Callable[..., Settings],
    redis_line: CuttableProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings(
        admin=AdminSettings(token=SecretStr(TOKEN)), redis_url=f"redis://127.0.0.1:{redis_line.port}/13"
    )
    admin = await aiohttp_client(create_app(settings))
    redis_line.hung = True
    assert (await sign_in(admin, "typo-0")).status == 401  # the count gave up on Redis after a short wait
    asked = redis_line.swallowed
    assert asked > 0
    for n in range(1, FAILURES.amount + 2):
        assert (await sign_in(admin, f"typo-{n}")).status == 401  # not throttled while the count cannot be kept
    assert redis_line.swallowed == asked  # and Redis was not asked again: none of them waited on it
    response = await sign_in(admin)
    assert (response.status, response.headers["Location"]) == (303, "/admin")
    assert len([r for r in caplog.records if "cannot be kept" in r.getMessage()]) == 1


async def test_a_sign_in_posted_from_another_site_is_refused(admin: AppClient) -> None:
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}):
        response = await admin.post("/admin/login", data={"token": TOKEN}, headers=headers, allow_redirects=False)
        assert response.status == 403
        assert COOKIE not in response.cookies
    same = await admin.post(
        "/admin/login", data={"token": TOKEN}, headers={"Sec-Fetch-Site": "same-origin"}, allow_redirects=False
    )
    assert same.status == 303


async def test_a_tampered_cookie_is_refused(admin: AppClient) -> None:
    await sign_in(admin)
    value = admin.session.cookie_jar.filter_cookies(admin.make_url("/admin"))[COOKIE].value
    admin.session.cookie_jar.clear()
    assert (await admin.get("/admin/api/status", headers={"Cookie": f"{COOKIE}={value}"})).status == 200
    payload, rest = value.split(".", 1)
    forged = payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + rest
    assert (await admin.get("/admin/api/status", headers={"Cookie": f"{COOKIE}={forged}"})).status == 401


async def test_signing_out_drops_the_session_from_the_browser(admin: AppClient) -> None:
    await sign_in(admin)
    csrf = await csrf_of(admin)
    response = await admin.post("/admin/logout", data={"csrf": csrf}, allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (303, "/admin/login")
    assert (await admin.get("/admin/api/status")).status == 401


async def test_actions_from_a_cookie_session_need_the_pages_csrf_value(admin: AppClient) -> None:
    actions = [path for method, path in admin_routes(admin) if method == "POST" and path not in PUBLIC]
    assert set(actions) >= set(ACTIONS)
    await sign_in(admin)
    for path in actions:
        assert (await admin.post(path, data={})).status == 403, path
        assert (await admin.post(path, data={"csrf": "forged"})).status == 403, path
    assert (await admin.get("/admin/api/status")).status == 200  # still signed in


@pytest.mark.parametrize(
    ("method", "path", "status", "reason"),
    [
        ("GET", "/admin/api/overview?period=90d", 400, "period must be one of today, 7d, 30d"),
        ("GET", "/admin/api/gaps?channel=fax", 400, "channel must be one of web, api"),
        ("GET", "/admin/api/conversations?page=99999999999999999999", 400, "page is a number from 1 to 10000"),
        ("GET", "/admin/api/conversations?page=0", 400, "page is a number from 1"),
        ("GET", "/admin/api/conversations?until=9999-12-31", 400, "since and until are dates"),
        ("GET", "/admin/api/conversations?since=2026-13-45", 400, "since and until are dates"),
        ("GET", "/admin/api/conversations?q=" + "+".join(f"w{n}" for n in range(11)), 400, "at most 10 words"),
        ("GET", "/admin/api/conversations?state=lost", 400, "state must be one of"),
        ("POST", "/admin/outbox/99999999999999999999/retry", 404, "a dead letter's id is a number"),
        ("POST", "/admin/outbox/7/retry", 404, "there is no outbox item 7"),
        ("POST", "/admin/replies", 400, "a canned reply's name is 1 to 40 lower-case letters"),
        ("GET", "/admin/replies/nope", 404, "there is no canned reply by that name"),
        ("POST", "/admin/replies/Not%20a%20name/delete", 404, "there is no canned reply by that name"),
        ("GET", "/admin/api/rehearsals/nope", 404, "no such rehearsal run"),
        ("GET", "/admin/rehearsals/7", 404, "no such rehearsal run: the dashboard keeps the newest 200"),
    ],
)
async def test_bad_input_gets_a_4xx_naming_what_is_wrong(
    admin: AppClient, method: str, path: str, status: int, reason: str
) -> None:
    response = await admin.request(method, path, headers=BEARER)
    assert response.status == status
    assert reason in await response.text()
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_the_status_says_at_what_bar_the_offline_decision_answers_and_why(admin: AppClient) -> None:
    status = await (await admin.get("/admin/api/status", headers=BEARER)).json()
    assert (status["answer_bar"], status["answer_bar_source"]) == (0.55, "answer.min_match")
    await sign_in(admin)
    page = await (await admin.get("/admin/status")).text()
    assert "<th>Answer bar</th><td>match 0.55: answer.min_match</td>" in page

    learned = Calibration(0.42, 87, 14, 0.954, 0.851, 0.571, "ours.jsonl", datetime(2026, 11, 25, tzinfo=UTC))
    await save(admin.app[RUNTIME].sessionmaker, "knowledge", learned)  # `supporthub eval --calibrate`, elsewhere
    status = await (await admin.get("/admin/api/status", headers=BEARER)).json()
    assert status["answer_bar"] == 0.42
    assert status["answer_bar_source"].startswith("learned from 87 labelled questions in ours.jsonl (2026-11-25)")
    page = await (await admin.get("/admin/status")).text()
    assert "<th>Answer bar</th><td>match 0.42: learned from 87 labelled questions in ours.jsonl" in page
