"""The widget in headless Chromium against the real server (database, knowledge base, hub,
offline responder) — and, for hostile bot output, against the channel with a fake hub."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import expect
from pydantic import SecretStr
from sqlalchemy import select

from channels.web.channel import WebChannel
from channels.web.sessions import SessionTokens, identity_signature
from channels.web.settings import WebSettings
from core.cli.server import RUNTIME
from core.desk_port import CaseAction
from core.handoff.desk_store import act_on_case
from core.messages import Address, InboundMessage
from core.pipeline.hub_gate import HubGate
from core.quoting import literal
from core.settings import AdminSettings, AttachmentSettings, LimitsSettings, LlmSettings, OutboxSettings, Settings
from core.store.case_tables import Case, CaseRating
from core.store.db import Conversation, Feedback
from tests.browser.conftest import Launch, Live, serve
from tests.fakes.hub import FakeHub
from tests.fakes.openai_server import FakeOpenAI, StreamError, Text
from tests.fakes.tcp_proxy import CuttableProxy
from tests.integration.staff_steps import on_staff
from tests.readings import rate_limited

pytestmark = pytest.mark.browser


def dialogs_of(page: Any) -> list[str]:
    """The messages of every alert, confirm or prompt the page opens (each dismissed)."""
    dialogs: list[str] = []

    async def dismiss(dialog: Any) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", dismiss)
    return dialogs


@pytest.fixture
async def live_server(launch: Launch) -> Live:
    return await launch()


def llm_settings(model: FakeOpenAI) -> LlmSettings:
    return LlmSettings(base_url=model.base_url, api_key=SecretStr("sk-test"), max_retries=0, timeout_s=10)


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    context = await browser.new_context()
    page = await context.new_page()
    page.errors = []  # uncaught exceptions in the page fail the test
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    yield page
    await context.close()
    assert page.errors == []


async def open_chat(page: Any, url: str) -> None:
    await page.goto(url + "/")
    await page.get_by_test_id("bubble").click()
    await expect(page.get_by_test_id("panel")).to_be_visible()


def sent_frames(page: Any) -> list[dict[str, Any]]:
    """Every JSON frame the page's widget sockets send from now on (call before `goto`)."""
    frames: list[dict[str, Any]] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: frames.append(json.loads(payload))))
    return frames


async def ask(page: Any, text: str) -> None:
    box = page.get_by_test_id("input")
    await box.fill(text)
    await box.press("Enter")


async def test_question_answer_with_citation_survives_a_reload(live_server: Live, page: Any) -> None:
    await page.goto(live_server.url + "/")
    await page.get_by_test_id("bubble").click()
    await expect(page.get_by_test_id("panel")).to_be_visible()
    await ask(page, "how do I reset my password?")

    bot = page.locator('[data-testid="message"][data-author="bot"]')
    await expect(bot).to_have_count(1)
    await expect(bot).to_contain_text(re.compile("password", re.I))
    await expect(bot.get_by_test_id("citation").filter(has_text="Reset your password").first).to_be_visible()
    await expect(page.get_by_test_id("typing")).to_be_hidden()
    answer = await bot.inner_text()

    await page.reload()
    await page.get_by_test_id("bubble").click()
    customer = page.locator('[data-testid="message"][data-author="customer"]')
    await expect(customer).to_have_text(["how do I reset my password?"])
    await expect(bot).to_have_count(1)
    assert await bot.inner_text() == answer


async def test_html_from_the_customer_is_shown_as_text(live_server: Live, page: Any) -> None:
    dialogs = dialogs_of(page)
    await page.goto(live_server.url + "/")
    await page.get_by_test_id("bubble").click()
    hostile = "<img src=x onerror=alert(1)>"
    await ask(page, hostile)

    customer = page.locator('[data-testid="message"][data-author="customer"][data-id]')
    await expect(customer).to_have_text([hostile])
    await expect(page.locator('[data-testid="message"][data-author="bot"]')).to_have_count(1)
    assert await page.locator('[data-testid="panel"] img').count() == 0
    assert dialogs == []


@pytest.fixture
async def flaky_network() -> AsyncIterator[Callable[[str], Awaitable[CuttableProxy]]]:
    """A proxy in front of a server URL whose connections the test can cut."""
    proxies: list[CuttableProxy] = []

    async def between(url: str) -> CuttableProxy:
        host, port = url.removeprefix("http://").split(":")
        proxy = CuttableProxy(host, int(port))
        await proxy.start()
        proxies.append(proxy)
        return proxy

    yield between
    for proxy in proxies:
        await proxy.close()


async def web_session_id(app: web.Application) -> str:
    """The visitor's session id, as the server stored their conversation."""
    async with app[RUNTIME].sessionmaker() as session:
        return (await session.execute(select(Conversation.chat_id).where(Conversation.channel == "web"))).scalar_one()


async def test_reply_sent_while_disconnected_arrives_after_reconnect(
    live_server: Live, page: Any, flaky_network: Callable[[str], Awaitable[CuttableProxy]]
) -> None:
    network = await flaky_network(live_server.url)
    await page.goto(network.url + "/")
    await page.get_by_test_id("bubble").click()
    await ask(page, "how do I reset my password?")
    bot = page.locator('[data-testid="message"][data-author="bot"]')
    await expect(bot).to_have_count(1)

    session_id = await web_session_id(live_server.app)
    await page.context.set_offline(True)  # keep the widget from reconnecting at once
    network.cut()
    # The same visitor asks from another device meanwhile; the answer is stored and the push finds no socket.
    hub = live_server.app[RUNTIME].hub
    receipt = await hub.receive(
        InboundMessage(
            address=Address("web", session_id),
            external_id=f"{session_id}:other-device",
            sender_id=session_id,
            text="how do I enable two-factor authentication?",
        )
    )
    assert await hub.wait_for_reply(receipt.message_id, timeout=30) is not None

    await page.context.set_offline(False)
    await expect(bot).to_have_count(2)
    await expect(page.locator('[data-testid="message"][data-author="customer"]')).to_have_text(
        ["how do I reset my password?", "how do I enable two-factor authentication?"]
    )
    await ask(page, "thanks!")  # the new socket carries messages again
    await expect(bot).to_have_count(3)


BOT = '[data-testid="message"][data-author="bot"]'


async def votes(app: web.Application) -> list[tuple[int, str]]:
    """The feedback table, read straight from the server's database."""
    async with app[RUNTIME].sessionmaker() as session:
        rows = await session.execute(select(Feedback.message_id, Feedback.rating).order_by(Feedback.message_id))
        return [(message_id, rating) for message_id, rating in rows]


async def test_a_visitor_over_the_limit_gets_a_polite_line_and_their_text_back(launch: Launch, page: Any) -> None:
    live = await launch(limits=LimitsSettings(per_contact="2/minute", per_ip=""))
    refused_before = rate_limited("web")
    await open_chat(page, live.url)
    bot = page.locator('[data-testid="message"][data-author="bot"]')
    for count, question in enumerate(["how do I reset my password?", "can I pay by invoice?"], start=1):
        await ask(page, question)
        await expect(bot).to_have_count(count)

    await ask(page, "how do I export my data?")

    await expect(page.get_by_test_id("notice")).to_contain_text(
        re.compile(r"faster than we can answer\. Please wait \d+ seconds, then send it again")
    )
    await expect(page.get_by_test_id("input")).to_have_value("how do I export my data?")
    await expect(page.locator(".pending")).to_have_count(0)
    assert rate_limited("web") - refused_before == 1


async def test_a_message_the_hub_could_not_store_is_sent_again_by_the_widget(
    live_server: Live, page: Any, tmp_path: Path
) -> None:
    frames = sent_frames(page)
    await open_chat(page, live_server.url)
    other_process = sqlite3.connect(tmp_path / "hub.db", isolation_level=None)
    other_process.execute("BEGIN IMMEDIATE")  # holds the write lock, as a long CLI job would
    try:
        await ask(page, "how do I reset my password?")
        await expect(page.get_by_test_id("notice")).to_have_text(
            "We couldn't save your message just now; it will be sent again in a moment."
        )
        await expect(page.locator(".pending")).to_have_count(1)  # kept, not given back
    finally:
        other_process.execute("ROLLBACK")
        other_process.close()
    bot = page.locator('[data-testid="message"][data-author="bot"]')
    await expect(bot).to_contain_text(re.compile("password", re.I))
    await expect(page.locator(".pending")).to_have_count(0)
    sent = [f for f in frames if f.get("type") == "message"]
    assert len(sent) == 2 and sent[0]["id"] == sent[1]["id"]  # the same message, once stored


async def test_a_browser_refused_a_new_session_waits_and_says_so(launch: Launch, browser: Any, page: Any) -> None:
    """One address over `limits.sessions_per_ip`: the next new visitor's widget is told to wait,
    waits, and sends no message meanwhile; the first visitor's widget works on."""
    live = await launch(limits=LimitsSettings(sessions_per_ip="1/minute"))
    await open_chat(page, live.url)
    await ask(page, "how do I reset my password?")
    await expect(page.locator('[data-testid="message"][data-author="bot"]')).to_have_count(1)

    second = await (await browser.new_context()).new_page()
    frames = sent_frames(second)
    await open_chat(second, live.url)
    await expect(second.locator(".status")).to_have_text(re.compile(r"Busy right now; trying again in \d+ seconds"))
    assert [frame["type"] for frame in frames] == ["hello"]
    await second.context.close()

    await ask(page, "can I pay by invoice?")
    await expect(page.locator('[data-testid="message"][data-author="bot"]')).to_have_count(2)


async def test_a_visitor_back_after_the_session_period_is_told_it_is_a_new_conversation(
    launch: Launch, page: Any
) -> None:
    secret = "a widget session secret for this test"
    live = await launch(web=WebSettings(session_secret=SecretStr(secret), session_days=30))
    long_ago = SessionTokens(secret, max_age_s=30 * 86400, clock=lambda: time.time() - 31 * 86400)
    _, expired = long_ago.issue(live.url, None)
    await page.goto(live.url + "/")
    await page.evaluate(
        "([key, token]) => localStorage.setItem(key, token)", [f"supporthub:{live.url}/:token", expired]
    )

    await open_chat(page, live.url)

    await expect(page.get_by_test_id("notice")).to_have_text(
        "Your earlier conversation has expired, so this is a new one."
    )
    stored = await page.evaluate("key => localStorage.getItem(key)", f"supporthub:{live.url}/:token")
    assert stored != expired and SessionTokens(secret, max_age_s=30 * 86400).verify(stored, live.url, None)


async def test_a_thumb_vote_reaches_the_database(live_server: Live, page: Any) -> None:
    await open_chat(page, live_server.url)
    await ask(page, "how do I reset my password?")
    bot = page.locator(BOT)
    await expect(bot).to_have_count(1)
    helpful = bot.get_by_role("button", name="Helpful", exact=True)
    unhelpful = bot.get_by_role("button", name="Not helpful", exact=True)
    await expect(helpful).to_have_attribute("aria-pressed", "false")
    await expect(page.locator('[data-testid="message"][data-author="customer"] .thumb')).to_have_count(0)

    await helpful.click()
    await expect(helpful).to_have_attribute("aria-pressed", "true")
    await expect(unhelpful).to_have_attribute("aria-pressed", "false")
    message_id = int(await bot.get_attribute("data-id"))
    assert await votes(live_server.app) == [(message_id, "up")]

    await unhelpful.focus()  # a real button: reachable and pressed from the keyboard
    await page.keyboard.press("Enter")
    await expect(unhelpful).to_have_attribute("aria-pressed", "true")
    await expect(helpful).to_have_attribute("aria-pressed", "false")
    assert await votes(live_server.app) == [(message_id, "down")]


async def resolve_the_case(app: web.Application) -> None:
    """A person resolves the visitor's case (as the staff desk would, in one transaction)."""
    runtime = app[RUNTIME]
    async with runtime.sessionmaker() as session:
        case_id = (await session.execute(select(Case.id))).scalar_one()
    await runtime.transactions.run(
        partial(act_on_case, case_id=case_id, action=CaseAction.RESOLVE, actor="U0SAM", push=frozenset({"web"}))
    )


async def scores(app: web.Application) -> list[int | None]:
    async with app[RUNTIME].sessionmaker() as session:
        return list((await session.execute(select(CaseRating.score))).scalars())


async def test_the_survey_after_a_resolved_case_is_answered_with_one_click(launch: Launch, page: Any) -> None:
    live = await launch(outbox=OutboxSettings(poll_interval_s=0.2), admin=AdminSettings(token=SecretStr("staffed")))
    await on_staff(live.app)  # a desk takes the case
    await open_chat(page, live.url)
    await ask(page, "I want to talk to a human please")
    await expect(page.locator(BOT)).to_have_count(1)
    await resolve_the_case(live.app)

    question = page.locator(BOT).filter(has=page.get_by_test_id("survey"))
    await expect(question).to_contain_text("How did we do?")
    await expect(question.locator(".thumb")).to_have_count(0)  # the survey is no answer to rate
    scale = question.get_by_role("group", name="Your rating, from 1 (bad) to 5 (great)")
    await expect(scale.get_by_role("button")).to_have_text(["1", "2", "3", "4", "5"])
    await scale.get_by_role("button", name="4", exact=True).click()
    await expect(scale.get_by_role("button", name="4", exact=True)).to_have_attribute("aria-pressed", "true")
    await expect(question.get_by_role("status")).to_have_text("Thank you for your rating!")
    await expect(scale.get_by_role("button", name="5, great")).to_be_disabled()
    assert await scores(live.app) == [4]

    await page.reload()  # the history shows the scale again; a second score finds the survey closed
    await page.get_by_test_id("bubble").click()
    await question.get_by_role("button", name="1, bad").click()
    await expect(question.get_by_role("status")).to_have_text("This survey is closed.")
    assert await scores(live.app) == [4]


async def test_an_attached_file_is_read_and_an_oversized_one_never_sent(
    launch: Launch, page: Any, tmp_path: Path
) -> None:
    live = await launch(attachments=AttachmentSettings(max_bytes=2048))
    frames = sent_frames(page)
    log = tmp_path / "error-log.txt"
    log.write_text("The app says BD-4012 when I add a teammate\n", encoding="utf-8")
    await open_chat(page, live.url)

    async with page.expect_file_chooser() as chooser:
        await page.get_by_role("button", name="Attach a file").click()
    await (await chooser.value).set_files(log)
    await expect(page.get_by_test_id("attachment")).to_contain_text("error-log.txt")
    await ask(page, "What does this mean?")
    await expect(page.get_by_test_id("attachment")).to_be_hidden()

    customer = page.locator('[data-testid="message"][data-author="customer"]')
    await expect(customer).to_have_count(1)
    await expect(customer).to_contain_text("What does this mean?")
    await expect(customer).to_contain_text("error-log.txt")
    bot = page.locator(BOT)
    await expect(bot).to_have_count(1)
    await expect(bot.locator("p").first).to_have_text(re.compile(r"^I've read error-log\.txt\. "))
    await expect(bot).to_contain_text("BD-4012")
    await expect(bot.locator('[data-testid="citation"][title$="error-codes.json"]').first).to_be_visible()
    (sent,) = [f for f in frames if f["type"] == "message"]
    assert [a["filename"] for a in sent["attachments"]] == ["error-log.txt"]

    big = tmp_path / "export.csv"
    big.write_bytes(b"code,meaning\n" + b"BD-4012,seat limit reached\n" * 100)  # 2.6 KB
    await page.get_by_test_id("file-input").set_input_files(big)
    await expect(page.get_by_test_id("notice")).to_contain_text("export.csv is too large to send")
    await expect(page.get_by_test_id("attachment")).to_be_hidden()
    await ask(page, "and this one?")
    await expect(bot).to_have_count(2)
    assert [f.get("attachments", []) for f in frames if f["type"] == "message"][1] == []
    assert not any("export.csv" in json.dumps(f) for f in frames)


async def test_a_streamed_answer_gives_way_to_the_stored_one(launch: Launch, model: FakeOpenAI, page: Any) -> None:
    live = await launch(llm=llm_settings(model))
    answer = "Click Forgot password on the sign-in page and follow the link we email you [1]."
    model.script(Text(answer, pieces=8, delay=0.4))
    await open_chat(page, live.url)
    await ask(page, "how do I reset my password?")

    draft = page.get_by_test_id("draft")
    await expect(draft).to_contain_text("Click")
    partial = (await draft.inner_text()).strip()
    assert answer.startswith(partial) and len(partial) < len(answer)
    await expect(page.get_by_test_id("typing")).to_be_hidden()
    await expect(page.locator(BOT)).to_have_count(0)

    bot = page.locator(BOT)
    await expect(bot).to_have_count(1)
    await expect(draft).to_have_count(0)
    await expect(page.locator('[data-author="bot"]')).to_have_count(1)  # no draft left beside it
    await expect(bot.locator("p")).to_have_text(answer)
    await expect(bot.get_by_test_id("citation")).to_have_count(1)
    await expect(bot.get_by_test_id("citation")).to_contain_text("Reset your password")
    await expect(bot.get_by_role("button", name="Helpful", exact=True)).to_be_visible()
    order = await page.locator('[data-testid="messages"] > *').evaluate_all("ns => ns.map(n => n.dataset.author)")
    assert order == ["customer", "bot"]
    assert len(model.requests) == 1


async def test_a_failed_stream_is_dropped_for_the_offline_answer(launch: Launch, model: FakeOpenAI, page: Any) -> None:
    live = await launch(llm=llm_settings(model))
    model.script(StreamError("overloaded", before="Half an answer that never"))
    await open_chat(page, live.url)
    await ask(page, "how do I reset my password?")

    bot = page.locator(BOT)
    await expect(bot).to_have_count(1)
    await expect(page.get_by_test_id("draft")).to_have_count(0)
    await expect(page.locator('[data-author="bot"]')).to_have_count(1)
    await expect(bot).not_to_contain_text("Half an answer")
    await expect(bot.get_by_test_id("citation").filter(has_text="Reset your password").first).to_be_visible()
    await expect(page.get_by_test_id("typing")).to_be_hidden()


@pytest.fixture
async def fake_server(tmp_path: Path) -> AsyncIterator[tuple[str, FakeHub]]:
    """Only the web channel, answered by an in-memory hub whose reply text a test chooses."""
    gate = HubGate()
    channel = WebChannel(Settings(data_dir=tmp_path), gate.port)
    hub = FakeHub(channel)
    gate.open(hub)
    await channel.start()
    app = web.Application()
    app.add_routes(channel.routes())
    runner, url = await serve(app)
    try:
        yield url, hub
    finally:
        await channel.stop()
        await runner.cleanup()


async def test_bot_markdown_is_rendered_without_running_anything(fake_server: tuple[str, FakeHub], page: Any) -> None:
    url, hub = fake_server
    hub.reply_text = (
        "Try **this** and *that*: `reset --now`, see [the guide](https://help.example/reset).\n"
        "Not [a link](javascript:alert%281%29) nor <img src=x onerror=alert(1)>.\n\n"
        "1. first\n2. second\n\n"
        "> quoted from the help centre"
    )
    hub.reply_handoff = True
    dialogs = dialogs_of(page)
    await page.goto(url + "/")
    await page.get_by_test_id("bubble").click()
    await ask(page, "help")

    bot = page.locator('[data-testid="message"][data-author="bot"]')
    await expect(bot).to_have_count(1)
    await expect(bot.locator("strong")).to_have_text("this")
    await expect(bot.locator("em")).to_have_text("that")
    await expect(bot.locator("code")).to_have_text("reset --now")
    await expect(bot.locator("ol > li")).to_have_text(["first", "second"])
    await expect(bot.locator("blockquote")).to_have_text("quoted from the help centre")
    await expect(bot.locator("p a")).to_have_count(1)
    await expect(bot.locator("p a")).to_have_attribute("href", "https://help.example/reset")
    await expect(bot).to_contain_text("Not a link nor <img src=x onerror=alert(1)>.")
    await expect(bot.locator(".note")).to_have_count(0)  # the reply says what happens next, no promise added
    await expect(bot.get_by_test_id("citation")).to_have_text(["Reset your password \u2014 How to reset"])
    assert await bot.locator("img").count() == 0
    assert dialogs == []


async def bot_says(fake_server: tuple[str, FakeHub], page: Any, text: str) -> Any:
    """The bot message on the page after the fake hub answered with `text`."""
    url, hub = fake_server
    hub.reply_text = text
    await open_chat(page, url)
    await ask(page, "help")
    bot = page.locator(BOT)
    await expect(bot).to_have_count(1)
    return bot


PRICING = r"""Here's what our help centre says in **Pricing**:

| Plan | Monthly billing | Annual billing |
| --- | ---: | :---: |
| Business | $20 per seat per month | **$16** per seat per month |
| Team | `seats \| users` | [compare plans](https://help.example/plans) | dropped |
| <img src=x onerror=alert(1)> |
After the table."""


async def test_a_help_centre_table_is_a_table_of_text(fake_server: tuple[str, FakeHub], page: Any) -> None:
    dialogs = dialogs_of(page)
    bot = await bot_says(fake_server, page, PRICING)

    table = bot.locator(".table-scroll > table")
    await expect(table).to_have_count(1)
    await expect(table.locator("thead th")).to_have_text(["Plan", "Monthly billing", "Annual billing"])
    rows = table.locator("tbody tr")
    await expect(rows).to_have_count(3)
    await expect(rows.nth(0).locator("td")).to_have_text(
        ["Business", "$20 per seat per month", "$16 per seat per month"]
    )
    await expect(rows.nth(0).locator("td").nth(2).locator("strong")).to_have_text("$16")
    await expect(rows.nth(1).locator("td")).to_have_text(["Team", "seats | users", "compare plans"])
    await expect(rows.nth(1).locator("td code")).to_have_text("seats | users")
    await expect(rows.nth(1).locator("td a")).to_have_attribute("href", "https://help.example/plans")
    await expect(rows.nth(2).locator("td")).to_have_text(["<img src=x onerror=alert(1)>", "", ""])
    aligns = await rows.nth(0).locator("td").evaluate_all("cells => cells.map(c => getComputedStyle(c).textAlign)")
    assert aligns == ["left", "right", "center"]
    await expect(bot.locator("p")).to_have_text(["Here's what our help centre says in Pricing:", "After the table."])
    assert await bot.locator("img").count() == 0
    assert dialogs == []


async def test_a_quoted_table_is_a_table_and_pipes_without_a_delimiter_row_are_a_paragraph(
    fake_server: tuple[str, FakeHub], page: Any
) -> None:
    bot = await bot_says(
        fake_server,
        page,
        (
            "> From the seats article:\n> | Seats | Price |\n> | :-- | --: |\n> | 1 | $20 |\n\n"
            "Compare | the plans | here\n| Plan | Price |\nno delimiter row under either"
        ),
    )

    await expect(bot.locator("blockquote p")).to_have_text("From the seats article:")
    quoted = bot.locator("blockquote table")
    await expect(quoted.locator("th")).to_have_text(["Seats", "Price"])
    await expect(quoted.locator("td")).to_have_text(["1", "$20"])
    await expect(bot.locator("table")).to_have_count(1)
    await expect(bot.locator(":scope > p")).to_have_text(
        "Compare | the plans | here| Plan | Price |no delimiter row under either"
    )


async def test_a_wide_table_scrolls_inside_its_bubble(fake_server: tuple[str, FakeHub], page: Any) -> None:
    columns = range(1, 9)
    bot = await bot_says(
        fake_server,
        page,
        "\n".join(
            [
                "| " + " | ".join(f"Column {n} heading" for n in columns) + " |",
                "|" + " --- |" * len(columns),
                "| " + " | ".join(f"a rather long value for column {n}" for n in columns) + " |",
            ]
        ),
    )

    scroller = bot.locator(".table-scroll")
    assert await scroller.evaluate("s => s.scrollWidth > s.clientWidth + 200")
    messages = page.get_by_test_id("messages")
    assert await messages.evaluate("list => list.parentElement.scrollWidth <= list.parentElement.clientWidth")
    bubble, list_box = await bot.bounding_box(), await messages.bounding_box()
    assert bubble["x"] + bubble["width"] <= list_box["x"] + list_box["width"]
    await expect(page.get_by_test_id("panel")).to_have_css("width", "370px")

    last = scroller.locator("th").last
    await expect(last).not_to_be_in_viewport()
    await scroller.evaluate("s => { s.scrollLeft = s.scrollWidth; }")
    await expect(last).to_be_in_viewport()


async def test_a_quoted_file_name_is_shown_as_its_own_text(fake_server: tuple[str, FakeHub], page: Any) -> None:
    url, hub = fake_server
    hub.reply_text = f"I've read {literal('[click me](https://evil.example/phish).txt')}. Try **this**."
    await page.goto(url + "/")
    await page.get_by_test_id("bubble").click()
    await ask(page, "see attached")

    bot = page.locator('[data-testid="message"][data-author="bot"]')
    await expect(bot.locator("p").first).to_have_text("I've read [click me](https://evil.example/phish).txt. Try this.")
    await expect(bot.locator("strong")).to_have_text("this")
    assert await bot.locator("a").count() == 0


async def test_a_link_to_another_host_without_a_scheme_is_text(fake_server: tuple[str, FakeHub], page: Any) -> None:
    """`//host/p` (and `/\\host`, which browsers read the same way) leads to another site, not
    somewhere on this one: shown as its words, like any link that is not http(s) or mailto."""
    bot = await bot_says(
        fake_server,
        page,
        (
            "See [the guide](//evil.example/p), [this](/\\evil.example/p), [that](\\\\evil.example/p) "
            "and [plans](/plans?x=1) or [help](https://help.example/reset)."
        ),
    )
    await expect(bot.locator("p").first).to_have_text("See the guide, this, that and plans or help.")
    hrefs = await bot.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert hrefs == ["/plans?x=1", "https://help.example/reset"]


async def test_messages_typed_offline_are_sent_on_reconnect(
    fake_server: tuple[str, FakeHub], page: Any, flaky_network: Callable[[str], Awaitable[CuttableProxy]]
) -> None:
    url, hub = fake_server
    network = await flaky_network(url)
    await page.goto(network.url + "/")
    await page.get_by_test_id("bubble").click()
    await ask(page, "first")
    bot = page.locator('[data-testid="message"][data-author="bot"]')
    await expect(bot).to_have_count(1)

    await page.context.set_offline(True)
    network.cut()
    await ask(page, "typed while offline")
    await expect(page.locator(".pending")).to_have_count(1)
    await page.context.set_offline(False)

    await expect(bot).to_have_count(2)
    await expect(bot.last).to_contain_text("typed while offline")
    await expect(page.locator(".pending")).to_have_count(0)
    assert [m.text for m in hub.received] == ["first", "typed while offline"]


async def test_typing_indicator_shows_until_the_reply(fake_server: tuple[str, FakeHub], page: Any) -> None:
    url, hub = fake_server
    hub.gate.clear()
    await page.goto(url + "/")
    await page.get_by_test_id("bubble").click()
    await ask(page, "anyone there?")
    await expect(page.get_by_test_id("typing")).to_be_visible()
    hub.gate.set()
    await expect(page.locator('[data-testid="message"][data-author="bot"]')).to_have_count(1)
    await expect(page.get_by_test_id("typing")).to_be_hidden()


async def test_the_embedding_site_vouches_for_the_visitor(fake_server: tuple[str, FakeHub], page: Any) -> None:
    url, _ = fake_server
    signature = identity_signature("the shop's secret", "erin@example.com")
    shop = web.Application()  # another origin embedding the widget, as a customer's site does
    embed = (
        f'<!doctype html><title>shop</title><script src="{url}/widget.js" defer '
        f'data-email="erin@example.com" data-email-signature="{signature}"></script>'
    )

    async def page_of_the_shop(request: web.Request) -> web.Response:
        return web.Response(text=embed, content_type="text/html")

    shop.router.add_get("/", page_of_the_shop)
    runner, shop_url = await serve(shop)
    try:
        frames = sent_frames(page)
        await open_chat(page, shop_url)
        await ask(page, "hello")
        await expect(page.locator(BOT)).to_have_count(1)
    finally:
        await runner.cleanup()
    assert frames[0] == {
        "type": "hello",
        "token": None,
        "after": 0,
        "identity": {"email": "erin@example.com", "signature": signature},
        "language": "en",  # the widget's texts' (the hub says its own lines in it)
    }


# --- branding ------------------------------------------------------------------------------


def wcag_contrast(a: str, b: str) -> float:
    """WCAG 2's contrast ratio of two CSS colours as the browser computes them ("rgb(r, g, b)")."""

    def luminance(css: str) -> float:
        channels = [int(n) / 255 for n in re.findall(r"\d+", css)[:3]]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.fixture
async def shop() -> AsyncIterator[Callable[[Live, str], Awaitable[str]]]:
    """The embedding site, a server of its own: `await shop(live, attributes)` is the URL of a
    page whose widget tag (the hub's script) carries `attributes`."""
    pages: dict[str, str] = {}

    async def page_of(request: web.Request) -> web.Response:
        return web.Response(text=pages[request.match_info["name"]], content_type="text/html")

    app = web.Application()
    app.add_routes([web.get("/{name}", page_of)])
    runner, url = await serve(app)

    async def make(live: Live, attributes: str) -> str:
        name = f"page-{len(pages)}"
        pages[name] = (
            f'<!doctype html><html><body><h1>Shop</h1><script src="{live.url}/widget.js" {attributes} defer>'
            "</script></body></html>"
        )
        return f"{url}/{name}"

    yield make
    await runner.cleanup()


async def colours(page: Any, selector: str) -> tuple[str, str]:
    return await page.locator(selector).first.evaluate(  # type: ignore[no-any-return]
        "n => { const s = getComputedStyle(n); return [s.color, s.backgroundColor]; }"
    )


@pytest.mark.parametrize("colour", ["#ffe066", "#777777", "#0a7d32", "#ffffff"])
async def test_any_brand_colour_keeps_the_text_on_it_readable(
    live_server: Live, page: Any, shop: Callable[[Live, str], Awaitable[str]], colour: str
) -> None:
    await page.goto(await shop(live_server, f'data-color="{colour}"'))
    await page.get_by_test_id("bubble").click()
    await ask(page, "how do I reset my password?")
    await expect(page.locator('[data-testid="message"][data-author="bot"]')).to_have_count(1)

    hex_rgb = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    for selector in ('[data-testid="bubble"]', ".header", '[data-testid="send"]', ".msg-customer"):
        text, background = await colours(page, selector)
        assert tuple(int(n) for n in re.findall(r"\d+", background)[:3]) == hex_rgb, selector
        assert wcag_contrast(text, background) >= 4.5, (selector, text, background)
    ink = await page.locator(".root").evaluate("n => getComputedStyle(n).getPropertyValue('--accent-ink')")
    rgb = "rgb({}, {}, {})".format(*(int(ink.strip()[i : i + 2], 16) for i in (1, 3, 5)))
    assert wcag_contrast(rgb, "rgb(255, 255, 255)") >= 4.5  # the brand colour as text on white


async def test_the_sites_tag_brands_the_launcher_greeting_avatar_and_corner(
    live_server: Live, page: Any, shop: Callable[[Live, str], Awaitable[str]]
) -> None:
    avatar = "https://cdn.example.com/support-team.png"
    attributes = (
        f'data-launcher-text="Chat with us" data-greeting="Hi! Ask the Shop team." data-avatar="{avatar}" '
        'data-position="left" data-color="green"'
    )
    await page.goto(await shop(live_server, attributes))
    bubble = page.get_by_test_id("bubble")
    await expect(page.get_by_test_id("launcher-text")).to_have_text("Chat with us")
    box = await bubble.bounding_box()
    assert box is not None and box["x"] < 100  # the bottom-left corner
    _, background = await colours(page, '[data-testid="bubble"]')
    assert background == "rgb(49, 87, 213)"  # "green" is no #rrggbb colour: the hub's own is kept

    await bubble.click()
    await expect(page.get_by_test_id("greeting")).to_have_text("Hi! Ask the Shop team.")
    assert await page.get_by_test_id("avatar").get_attribute("src") == avatar


async def test_the_hubs_web_settings_brand_the_widget_and_the_tag_wins(
    launch: Launch, page: Any, shop: Callable[[Live, str], Awaitable[str]]
) -> None:
    live = await launch(web=WebSettings(color="#0A7D32", launcher_text="Help", greeting="Hello from settings"))
    await page.goto(await shop(live, ""))
    await expect(page.get_by_test_id("launcher-text")).to_have_text("Help")
    _, background = await colours(page, '[data-testid="bubble"]')
    assert background == "rgb(10, 125, 50)"
    await page.get_by_test_id("bubble").click()
    await expect(page.get_by_test_id("greeting")).to_have_text("Hello from settings")

    await page.goto(await shop(live, 'data-greeting="From the page"'))
    await page.get_by_test_id("bubble").click()
    await expect(page.get_by_test_id("greeting")).to_have_text("From the page")
