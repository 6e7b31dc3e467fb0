"""The inbox at /admin/inbox in headless Chromium against the real server, one browser context
per person: staff members join through their invitation links and sign in with email and
password; a widget customer (a third context) and a Telegram customer (through the fake Bot
API) ask for a person; the queue and the case pages change in front of everyone without a
reload; claim, reply, internal note, assign and resolve reach the customer — all but the note;
a person removed by an admin is signed out at their next page and their live stream ends."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any

import aiohttp
import pytest
from playwright.async_api import expect
from pydantic import SecretStr
from sqlalchemy import func, select

from channels.telegram.stand_in import FakeBotApi
from channels.telegram.stand_in_updates import private_message
from core.cli.server import RUNTIME
from core.handoff.desk_store import RESOLVED_NOTICE
from core.handoff.survey import QUESTION
from core.pipeline.turn_runner import HANDOFF_NOTICE
from core.settings import AdminSettings, OutboxSettings
from core.store import staff
from core.store.db import Message, StaffRole
from tests.browser.conftest import TIMEOUT_MS, Launch, Live
from tests.browser.test_widget_browser import ask
from tests.integration.staff_steps import PASSWORD
from tests.integration.test_telegram import secret, telegram_settings, update
from tests.settle import until

pytestmark = pytest.mark.browser

TOKEN = "dashboard-token-of-the-lead"
STAFF_MESSAGE = '[data-testid="message"][data-author="staff"]'
BOT_MESSAGE = '[data-testid="message"][data-author="bot"]'
NOTE = "She wrote to billing yesterday too."
STREAMS = """
(() => {
  // Every EventSource the page opens, kept with the data it received: what the live script
  // listened to, read by the test (the page's own script keeps none of them).
  const Original = window.EventSource;
  window.streams = [];
  window.EventSource = function (url, init) {
    const source = new Original(url, init);
    const seen = { url: String(url), source: source, data: [] };
    source.addEventListener("message", (event) => seen.data.push(event.data));
    window.streams.push(seen);
    return source;
  };
})();
"""
NOTIFICATIONS = """
(() => {
  // The browser's notifications as the page shows them, kept for the test: headless Chromium
  // draws none. Permission is granted, as after the person clicked "Notify me".
  window.shown = [];
  window.Notification = function (title, options) {
    window.shown.push({ title: title, body: options && options.body });
  };
  window.Notification.permission = "granted";
  window.Notification.requestPermission = () => Promise.resolve("granted");
})();
"""
ALL_STREAMS_CLOSED = "() => window.streams.length > 0 && window.streams.every(s => s.source.readyState === 2)"

OpenPage = Callable[[], Awaitable[Any]]


@pytest.fixture
async def hub(launch: Launch, telegram: FakeBotApi) -> Live:
    """The hub with the widget, Telegram (against the fake Bot API) and the dashboard on."""
    live = await launch(
        channels=["web", "telegram"],
        admin=AdminSettings(token=SecretStr(TOKEN)),
        telegram=telegram_settings(telegram.api_url),
        outbox=OutboxSettings(poll_interval_s=0.2, backoff_base_s=0.2),
    )
    await telegram.wait_for_calls("getWebhookInfo", 1)
    await until(lambda: telegram_update(live, {}), what="the Telegram webhook to answer")
    return live


async def telegram_update(live: Live, payload: dict[str, Any]) -> bool:
    """Post one update to the webhook; False while the channel is still connecting (503)."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{live.url}/telegram/webhook", json=payload, headers=secret()) as response,
    ):
        if response.status == 503:
            return False
        assert response.status == 200, await response.text()
        return True


@pytest.fixture
async def new_page(browser: Any) -> AsyncIterator[OpenPage]:
    """`await new_page()`: a page in a browser context of its own (its own cookies and storage,
    as another person's browser); an uncaught exception in any of them fails the test."""
    errors: list[str] = []

    async def open_page() -> Any:
        context = await browser.new_context()
        await context.add_init_script(STREAMS)
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    yield open_page
    assert errors == []


async def invite(live: Live, email: str, *, role: StaffRole = StaffRole.AGENT) -> str:
    """The invitation link, as `supporthub staff invite` prints it."""
    token = await live.app[RUNTIME].transactions.run(
        partial(staff.invite, email=email, name="", role=role, actor="test")
    )
    return f"{live.url}/admin/invite/{token}"


async def join(page: Any, live: Live, *, email: str, name: str, role: StaffRole = StaffRole.AGENT) -> None:
    """Open the invitation link, choose a name and a password; then, as on any later day, sign
    out and sign in again with email and password. Ends on the inbox."""
    await page.goto(await invite(live, email, role=role))
    await expect(page.get_by_text(f"Welcome, {email}.")).to_be_visible()
    await page.get_by_label("Your name").fill(name)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_label("Password again").fill(PASSWORD)
    await page.get_by_role("button", name="Join").click()
    await expect(page).to_have_url(f"{live.url}/admin/inbox")
    await expect(page.locator("header")).to_contain_text(name)

    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(f"{live.url}/admin/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page).to_have_url(f"{live.url}/admin/inbox")
    await expect(page.locator("header")).to_contain_text(name)


async def stay(page: Any) -> None:
    """Mark the page's document; `still_the_same` tells later whether it was ever reloaded."""
    await page.evaluate("window.neverReloaded = true")


async def still_the_same(page: Any) -> bool:
    return bool(await page.evaluate("window.neverReloaded === true"))


def queued(page: Any, text: str) -> Any:
    return page.locator("#queue li.queued", has_text=text)


def case_state(page: Any) -> Any:
    return page.locator("#state .case-state strong")


async def open_case(page: Any, entry_text: str) -> None:
    await queued(page, entry_text).get_by_role("link").click()
    await expect(page.locator("#state h1")).to_contain_text(entry_text)


async def newest_message_id(live: Live) -> int:
    async with live.app[RUNTIME].sessionmaker() as session:
        return int((await session.execute(select(func.max(Message.id)))).scalar_one())


async def test_two_people_work_a_widget_customers_case_live_and_a_removed_one_is_shut_out(
    hub: Live, new_page: OpenPage
) -> None:
    ana, bo, customer = await new_page(), await new_page(), await new_page()
    await join(ana, hub, email="ana@example.com", name="Ana", role=StaffRole.ADMIN)
    await join(bo, hub, email="bo@example.com", name="Bo")
    for person in (ana, bo):
        await expect(person.locator("#queue")).to_contain_text("No open cases.")
        await stay(person)

    await customer.goto(hub.url + "/")
    await customer.get_by_test_id("bubble").click()
    await ask(customer, "My name is Rosa. Can I talk to a person about my invoice?")
    await expect(customer.locator(BOT_MESSAGE)).to_contain_text(HANDOFF_NOTICE.split(";")[0])

    for person in (ana, bo):  # the queue changed in front of both, nobody reloaded
        await expect(queued(person, "Rosa")).to_contain_text("waiting for a person")
        assert await still_the_same(person)

    await open_case(ana, "Rosa")
    await ana.get_by_role("button", name="Claim").click()
    await expect(case_state(ana)).to_have_text("With Ana")
    await expect(queued(bo, "Rosa")).to_contain_text("with Ana")
    assert await still_the_same(bo)

    await open_case(bo, "Rosa")
    await expect(case_state(bo)).to_have_text("With Ana")
    await stay(bo)
    await ana.get_by_label("Reply to Rosa").fill("Hi Rosa, I'm **Ana**. Which invoice is it?")
    await ana.get_by_role("button", name="Send reply").click()
    reply = customer.locator(STAFF_MESSAGE)
    await expect(reply).to_have_count(1)
    await expect(reply.locator("strong")).to_have_text("Ana")  # markdown, rendered by the widget
    await expect(reply).to_contain_text("Hi Rosa, I'm Ana. Which invoice is it?")
    await expect(bo.locator("#transcript article.staff")).to_contain_text("Which invoice is it?")  # live at Bo's

    await expect(case_state(ana)).to_have_text("With Ana")  # back on the case page after the reply
    await stay(ana)
    await bo.get_by_label("Internal note").fill(NOTE)
    await bo.get_by_role("button", name="Add note").click()
    note = ana.locator("#history li.note")
    await expect(note).to_contain_text(NOTE)  # stored, and shown live to the colleague
    await expect(note).to_contain_text("(internal note)")
    assert await still_the_same(ana)

    await expect(bo.locator("#history li.note")).to_contain_text(NOTE)  # back on the case page
    await stay(bo)
    await ana.get_by_label("Assign to").select_option(label="Bo")
    await ana.get_by_role("button", name="Assign", exact=True).click()
    await expect(case_state(bo)).to_have_text("With Bo")
    await expect(bo.locator("#history")).to_contain_text("assigned the case to Bo")
    assert await still_the_same(bo)

    await bo.get_by_role("button", name="Resolve").click()
    await expect(case_state(bo)).to_have_text("Resolved")
    # The resolved notice went out after the note was stored: had the note been sent, it would be here.
    said = customer.locator(STAFF_MESSAGE)
    await expect(said).to_have_count(2)
    await expect(said.nth(1)).to_contain_text(RESOLVED_NOTICE)
    survey = customer.locator(BOT_MESSAGE).filter(has=customer.get_by_test_id("survey"))
    await expect(survey).to_contain_text(QUESTION)  # asked after the notice, the last thing sent
    await expect(customer.get_by_test_id("messages")).not_to_contain_text("billing yesterday")

    await bo.goto(f"{hub.url}/admin/inbox")  # Bo waits on the queue, its live stream open
    await expect(bo.locator("#queue")).to_contain_text("No open cases.")
    await bo.wait_for_function("() => window.streams.length === 1 && window.streams[0].data.length > 0")
    await ana.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Staff").click()
    row = ana.locator("#staff tbody tr", has_text="bo@example.com")
    await row.get_by_role("button", name="Remove").click()
    await expect(row).to_contain_text("removed")

    last_before = await newest_message_id(hub)
    answers = await customer.locator(BOT_MESSAGE).count()
    await ask(customer, "how do I reset my password?")  # a change Bo's stream would have carried
    await expect(customer.locator(BOT_MESSAGE)).to_have_count(answers + 1)
    await bo.wait_for_function(ALL_STREAMS_CLOSED)  # ended by the server, and refused when it came back
    seen = await bo.evaluate("window.streams[0].data")  # versions: newest message id, newest case event
    assert seen and all(int(version.split("-")[0]) <= last_before for version in seen), seen
    await expect(bo.locator("#queue")).to_contain_text("No open cases.")
    await bo.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Inbox").click()
    await expect(bo).to_have_url(f"{hub.url}/admin/login")


async def test_a_telegram_customer_is_answered_from_the_inbox(
    hub: Live, new_page: OpenPage, telegram: FakeBotApi
) -> None:
    cy = await new_page()
    await cy.context.add_init_script(NOTIFICATIONS)
    await join(cy, hub, email="cy@example.com", name="Cy")
    await expect(cy).to_have_title("Inbox · supporthub admin")
    await stay(cy)
    asked = update(private_message("My name is Rosa. Can I talk to a person about my invoice?", message_id=1))
    assert await telegram_update(hub, asked)
    (notice,) = await telegram.wait_for_calls("sendMessage", 1)
    assert HANDOFF_NOTICE.split(";")[0] in notice.params["text"]

    await expect(queued(cy, "Ada")).to_contain_text("telegram · waiting for a person")
    assert await still_the_same(cy)
    await expect(cy).to_have_title("(1) Inbox · supporthub admin")  # issue 60: told in the tab
    shown = await cy.evaluate("window.shown")
    assert shown == [{"title": "A customer is waiting", "body": "Ada: Can I talk to a person about my invoice?"}]
    for words, found in (("xylophone", "No open case matches “xylophone”."), ("ada INVOICE", "Cases 1–1 of 1 found.")):
        await cy.get_by_label("Find").fill(words)  # issue 60: a search, by name and by what was said
        await cy.get_by_role("button", name="Search").click()
        await expect(cy.locator("#queue")).to_contain_text(found)
    await open_case(cy, "Ada")
    await cy.get_by_role("button", name="Claim").click()
    await expect(case_state(cy)).to_have_text("With Cy")
    await stay(cy)
    assert await telegram_update(hub, update(private_message("It's invoice 2024-117.", message_id=2)))
    await expect(cy.locator("#transcript article.customer .said").last).to_have_text("It's invoice 2024-117.")
    assert await still_the_same(cy)

    await cy.get_by_label("Internal note").fill(NOTE)
    await cy.get_by_role("button", name="Add note").click()
    await expect(cy.locator("#history li.note")).to_contain_text(NOTE)
    await cy.get_by_label("Reply to Ada").fill("Thanks Rosa, I'm **Cy**: invoice 2024-117 is corrected.")
    await cy.get_by_role("button", name="Send reply").click()
    await expect(cy.locator("#transcript article.staff")).to_contain_text("invoice 2024-117 is corrected.")
    await cy.get_by_role("button", name="Resolve").click()
    await expect(case_state(cy)).to_have_text("Resolved")

    calls = await telegram.wait_for_calls("sendMessage", 4)
    assert [(call.params["chat_id"], call.params["text"]) for call in calls[1:]] == [
        ("777", "Thanks Rosa, I'm <b>Cy</b>: invoice 2024-117 is corrected."),  # rendered for Telegram
        ("777", RESOLVED_NOTICE),
        ("777", QUESTION),  # the satisfaction survey follows the notice
    ]
    assert not any("billing yesterday" in call.params["text"] for call in telegram.calls_to("sendMessage"))


PAINTED = """(element) => {
  // The element's text in the order it is painted, top to bottom, left to right: what a person
  // reads, whatever order the characters have in the page (a right-to-left override reverses it).
  const painted = [];
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (let i = 0; i < node.data.length; i++) {
      const range = document.createRange();
      range.setStart(node, i);
      range.setEnd(node, i + 1);
      const box = range.getBoundingClientRect();
      if (box.width > 0) painted.push([Math.round(box.top), box.left, node.data[i]]);
    }
  }
  painted.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return painted.map((p) => p[2]).join("");
}"""
OVERRIDDEN_NAME = "Bob\u202eexe.fdp\u202c Admin"
"""Painted as "Bobpdf.exe Admin" when the right-to-left override (U+202E) is obeyed."""
OVERRIDDEN_FILE = "report\u202eexe.txt"
"""A text file painted as "reporttxt.exe" when the override is obeyed."""


async def test_a_profile_name_and_a_file_name_with_a_right_to_left_override_are_shown_as_given(
    hub: Live, new_page: OpenPage, telegram: FakeBotApi
) -> None:
    di = await new_page()
    await join(di, hub, email="di@example.com", name="Di")
    telegram.add_file("DOC9", b"Invoice 2024-117 was charged twice.", file_path="documents/file_9.txt")
    document = {"file_id": "DOC9", "file_unique_id": "u9", "file_name": OVERRIDDEN_FILE, "mime_type": "text/plain"}
    sender = {"id": 909, "is_bot": False, "first_name": OVERRIDDEN_NAME, "language_code": "en"}
    asked = private_message(None, user_id=909, caption="Can I talk to a person about this?", document=document)
    asked["message"]["from"] = sender
    assert await telegram_update(hub, update(asked))

    shown = "Bob[U+202E]exe.fdp[U+202C] Admin"
    entry = queued(di, "Bob")
    await expect(entry).to_contain_text("waiting for a person")
    assert await entry.locator("strong").evaluate(PAINTED) == shown  # not "Bobpdf.exe Admin"
    await entry.get_by_role("link").click()
    await expect(di.locator("#state h1")).to_contain_text("Bob")
    assert (await di.locator("#state h1").evaluate(PAINTED)).startswith(f"{shown} · telegram")
    assert await di.locator("#transcript article.customer .meta strong").first.evaluate(PAINTED) == shown
    file = di.locator("#transcript ul.files li").first
    assert (await file.evaluate(PAINTED)).startswith("File report[U+202E]exe.txt (text/plain")  # not "reporttxt.exe"
