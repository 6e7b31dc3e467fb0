"""People sign in to /admin with their own accounts: invited by a one-time link, argon2
passwords, sessions kept server-side (signing out or removal ends them at once, in every
browser), throttled guessing, admin and agent roles, and every action under their name."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import SecretStr
from sqlalchemy import select

from core.cli.main import main
from core.cli.server import RUNTIME, create_app
from core.ops.access import STAFF_COOKIE
from core.settings import AdminSettings, Settings
from core.store import staff
from core.store.db import StaffAction, StaffMember, StaffRole, StaffSession
from tests.app_client import AppClient
from tests.integration.app_db import count
from tests.integration.staff_steps import PASSWORD, browser, invitation, joined

TOKEN = "dashboard-token-of-the-lead"


@pytest.fixture
async def admin(aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]) -> AppClient:
    return await aiohttp_client(create_app(make_settings(admin=AdminSettings(token=SecretStr(TOKEN)))))  # type: ignore[no-any-return]


async def test_an_invitation_is_used_once_to_choose_a_name_and_a_password(admin: AppClient) -> None:
    link = await invitation(admin, "Ana@Example.com")
    async with browser(admin) as ana:
        page = await (await ana.get(link)).text()
        assert "Welcome, ana@example.com" in page
        short = await ana.post(link, {"name": "Ana", "password": "short", "again": "short"})
        assert short.status == 422 and "at least 10 characters" in await short.text()
        differ = await ana.post(link, {"name": "Ana", "password": PASSWORD, "again": PASSWORD + "!"})
        assert differ.status == 422 and "the two passwords differ" in await differ.text()
        joined_now = await ana.post(link, {"name": "Ana Lima", "password": PASSWORD, "again": PASSWORD})
        assert (joined_now.status, joined_now.headers["Location"]) == (303, "/admin/inbox")
        cookie = joined_now.cookies[STAFF_COOKIE]
        assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/admin"
        assert "Ana Lima" in await (await ana.get("/admin/inbox")).text()
    async with browser(admin) as someone_else:
        again = await someone_else.get(link)
        assert again.status == 404 and "not valid any more" in await again.text()
        reused = await someone_else.post(link, {"name": "Eve", "password": PASSWORD, "again": PASSWORD})
        assert reused.status == 404
    async with admin.app[RUNTIME].sessionmaker() as session:
        stored = (await session.execute(select(StaffMember.password_hash, StaffMember.invite_hash))).one()
    assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash
    assert stored.invite_hash is None


async def test_people_sign_in_with_email_and_password_and_a_wrong_one_gets_nothing(admin: AppClient) -> None:
    async with joined(admin, "bo@example.com", name="Bo"):
        pass
    async with browser(admin) as bo:
        wrong = await bo.post("/admin/login", {"email": "bo@example.com", "password": "not the password"})
        assert wrong.status == 401 and "Sign-in failed." in await wrong.text()
        unknown = await bo.post("/admin/login", {"email": "nobody@example.com", "password": PASSWORD})
        assert unknown.status == 401
        assert (await bo.get("/admin/api/inbox")).status == 401
        right = await bo.post("/admin/login", {"email": " BO@example.com ", "password": PASSWORD})
        assert (right.status, right.headers["Location"]) == (303, "/admin/inbox")
        assert (await bo.get("/admin/api/inbox")).status == 200


async def test_guessing_a_password_is_throttled_even_for_the_right_one(admin: AppClient) -> None:
    async with joined(admin, "cy@example.com", name="Cy"):
        pass
    async with browser(admin) as guesser:
        for _ in range(5):
            assert (
                await guesser.post("/admin/login", {"email": "cy@example.com", "password": "guess-guess"})
            ).status == 401
        throttled = await guesser.post("/admin/login", {"email": "cy@example.com", "password": PASSWORD})
        assert throttled.status == 429 and int(throttled.headers["Retry-After"]) >= 1
    assert await count(admin, StaffSession) == 1  # only the one from joining


async def test_removing_a_person_ends_their_sessions_at_once(admin: AppClient) -> None:
    async with joined(admin, "lead@example.com", name="Lead", role=StaffRole.ADMIN) as lead:
        async with joined(admin, "dee@example.com", name="Dee") as dee:
            assert (await dee.get("/admin/api/inbox")).status == 200
            removed = await lead.form("/admin/staff/remove", "/admin/staff", email="dee@example.com")
            assert (removed.status, removed.headers["Location"]) == (303, "/admin/staff")
            assert (await dee.get("/admin/api/inbox")).status == 401
            page = await dee.get("/admin/inbox", headers={"Accept": "text/html"}, allow_redirects=False)
            assert (page.status, page.headers["Location"]) == (303, "/admin/login")
            again = await dee.post("/admin/login", {"email": "dee@example.com", "password": PASSWORD})
            assert again.status == 401
        staff_page = await (await lead.get("/admin/staff")).text()
        assert re.search(r"dee@example.com</td><td>agent</td>\s*<td>removed", staff_page)
        assert "Lead</strong>: remove dee@example.com" in staff_page


async def test_signing_out_ends_the_session_on_the_server_not_only_in_the_browser(admin: AppClient) -> None:
    async with joined(admin, "eli@example.com", name="Eli") as eli:
        token = next(c.value for c in eli.session.cookie_jar if c.key == STAFF_COOKIE)
        out = await eli.form("/admin/logout", "/admin/inbox")
        assert (out.status, out.headers["Location"]) == (303, "/admin/login")
    async with browser(admin) as thief:  # the old cookie, kept by someone
        response = await thief.get("/admin/api/inbox", headers={"Cookie": f"{STAFF_COOKIE}={token}"})
        assert response.status == 401
    assert await count(admin, StaffSession) == 0


async def test_an_agent_works_cases_but_only_an_admin_manages_people_and_the_hub(admin: AppClient) -> None:
    async with joined(admin, "fay@example.com", name="Fay") as agent:
        for path in ["/admin/inbox", "/admin/cases", "/admin/conversations", "/admin/status"]:
            assert (await agent.get(path)).status == 200, path
        page = await (await agent.get("/admin/inbox")).text()
        assert 'href="/admin/staff"' not in page
        refused = await agent.get("/admin/staff")
        assert refused.status == 403 and "Only an admin can manage the staff." in await refused.text()
        csrf = await agent.csrf()
        for path in ["/admin/knowledge/reindex", "/admin/outbox/1/retry", "/admin/staff/invite"]:
            response = await agent.post(path, {"csrf": csrf, "email": "x@example.com", "role": "admin"})
            assert response.status == 403, path
    assert await count(admin, StaffMember, StaffMember.email == "x@example.com") == 0


async def test_an_admin_invites_from_the_staff_page_and_sees_the_link_once(admin: AppClient) -> None:
    async with joined(admin, "gus@example.com", name="Gus", role=StaffRole.ADMIN) as lead:
        bad = await lead.form("/admin/staff/invite", "/admin/staff", email="not-an-email", name="", role="agent")
        assert bad.status == 400 and "is not an email address" in await bad.text()
        invited = await lead.form(
            "/admin/staff/invite", "/admin/staff", email="hal@example.com", name="Hal", role="agent"
        )
        html = await invited.text()
        link = re.search(r"http://[^<\s]+/admin/invite/[\w-]+", html)
        assert invited.status == 200 and link is not None
        assert link.group(0) not in await (await lead.get("/admin/staff")).text()
    async with browser(admin) as hal:
        path = link.group(0)[link.group(0).index("/admin/invite/") :]
        assert "Welcome, hal@example.com" in await (await hal.get(path)).text()


async def test_every_action_is_recorded_under_the_persons_name(admin: AppClient) -> None:
    async with joined(admin, "ivy@example.com", name="Ivy Chen", role=StaffRole.ADMIN) as ivy:
        await ivy.form("/admin/knowledge/reindex", "/admin/knowledge")
    async with admin.app[RUNTIME].sessionmaker() as session:
        done = [tuple(row) for row in await session.execute(select(StaffAction.actor, StaffAction.action))]
    assert ("Ivy Chen", "accept invitation") in done and ("Ivy Chen", "re-index") in done


def test_the_command_line_invites_lists_and_removes_people(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(admin=AdminSettings(token=SecretStr(TOKEN), public_url="https://help.example.com/"))
    env = {"SUPPORTHUB_DATA_DIR": str(settings.data_dir), "SUPPORTHUB_ADMIN__TOKEN": TOKEN}
    env |= {
        "SUPPORTHUB_ADMIN__PUBLIC_URL": "https://help.example.com/",
        "SUPPORTHUB_DATABASE_URL": settings.resolved_database_url,
    }
    runner = CliRunner()
    invited = runner.invoke(main, ["staff", "invite", "Jo@Example.com", "--name", "Jo", "--role", "admin"], env=env)
    assert invited.exit_code == 0, invited.output
    assert re.search(r"https://help\.example\.com/admin/invite/[\w-]{40,}\n", invited.output)
    listed = runner.invoke(main, ["staff", "list"], env=env)
    assert re.search(r"Jo\s+jo@example.com\s+admin\s+invited", listed.output)
    bad = runner.invoke(main, ["staff", "invite", "nope"], env=env)
    assert bad.exit_code == 2 and "is not an email address" in bad.output
    removed = runner.invoke(main, ["staff", "remove", "jo@example.com"], env=env)
    assert removed.exit_code == 0 and "signed out everywhere" in removed.output
    unknown = runner.invoke(main, ["staff", "remove", "zed@example.com"], env=env)
    assert unknown.exit_code == 2 and "nobody on the staff has the email zed@example.com" in unknown.output


def test_inviting_needs_the_dashboard_on(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    env = {"SUPPORTHUB_DATA_DIR": str(settings.data_dir), "SUPPORTHUB_DATABASE_URL": settings.resolved_database_url}
    result = CliRunner().invoke(main, ["staff", "invite", "kim@example.com"], env=env)
    assert result.exit_code == 1 and "set SUPPORTHUB_ADMIN__TOKEN first" in result.output


async def test_a_session_row_holds_no_usable_token(admin: AppClient) -> None:
    async with joined(admin, "lu@example.com", name="Lu") as lu:
        token = next(c.value for c in lu.session.cookie_jar if c.key == STAFF_COOKIE)
    async with admin.app[RUNTIME].sessionmaker() as session:
        stored = (await session.execute(select(StaffSession.token_hash))).scalars().all()
    assert stored == [staff.digest(token)] and token not in stored
    found = await admin.app[RUNTIME].transactions.run(partial(staff.signed_in, token=stored[0]))
    assert found is None
