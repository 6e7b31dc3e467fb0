"""The /admin dashboard in headless Chromium against the real server: sign in, read the
overview's charts, open a knowledge gap and its conversation, search conversations, retry a
dead letter, re-index, review suggestions — each checked against rows seeded in the database
with known numbers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import expect
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.cli.server import RUNTIME
from core.rehearsals.script import Rehearsal, load
from core.settings import AdminSettings, Settings
from core.store.case_tables import Case
from core.store.db import Contact, Conversation, DeliveryStatus, Message, OutboxItem
from knowledge.settings import KnowledgeSettings
from knowledge.tables import IndexRun
from tests.browser.conftest import Launch, Live
from tests.integration.test_rehearse import BROKEN, RESET, doc_blocks
from tests.integration.test_rehearse import SAMPLE as SAMPLE_REHEARSALS
from tests.integration.test_suggestions import index
from tests.settle import until
from tests.unit.knowledge.test_written import WORDING, write_articles

pytestmark = pytest.mark.browser

TOKEN = "lead-of-support-token"
NOW = datetime.now(UTC)
TODAY = NOW.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(minutes=1)
YESTERDAY = TODAY - timedelta(days=1)
CITED = [{"source": "billing.md", "title": "Billing", "section": "Invoices", "score": 0.8}]
BITCOIN = ["Can I pay with bitcoin?", "Do you accept crypto payments like bitcoin?", "is bitcoin accepted for payment"]


@pytest.fixture
def dashboard(launch: Launch) -> Launch:
    """The hub with its web and api channels and the dashboard on."""
    return partial(launch, channels=["web", "api"], admin=AdminSettings(token=SecretStr(TOKEN)))


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    page = await browser.new_page()
    yield page
    await page.context.close()


async def seed(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Today 3 web + 1 api customer messages, yesterday 2 web; the three bitcoin questions and
    one about invoices were declined; one reply to Telegram is a dead letter."""
    async with sessionmaker.begin() as session:
        session.add(Contact(id="ann", display_name="Ann Example"))
        conversations = {
            name: Conversation(id=name, contact_id="ann", channel=channel, chat_id=name)
            for name, channel in [
                ("w1", "web"),
                ("w2", "web"),
                ("w3", "web"),
                ("a1", "api"),
                ("y1", "web"),
                ("y2", "web"),
                ("t1", "telegram"),
            ]
        }
        session.add_all(conversations.values())
        await session.flush()

        async def exchange(conversation: str, at: datetime, text: str, *, declined: bool = False) -> Message:
            asked = Message(
                conversation_id=conversation,
                channel=conversations[conversation].channel,
                author="customer",
                text=text,
                created_at=at,
            )
            session.add(asked)
            await session.flush()
            reply = Message(
                conversation_id=conversation,
                channel=asked.channel,
                author="bot",
                reply_to=asked.id,
                text="I couldn't find that." if declined else "Here is how.",
                citations=[] if declined else CITED,
                declined=declined,
                handoff=declined,
                created_at=at + timedelta(seconds=2),
            )
            session.add(reply)
            await session.flush()
            return reply

        for conversation, text in zip(("w1", "w2", "w3"), BITCOIN, strict=True):
            await exchange(conversation, TODAY, text, declined=True)
        await exchange("a1", TODAY, "Where do I download my invoices as a spreadsheet?")
        await exchange("y1", YESTERDAY, "How do I reset my password?")
        await exchange("y2", YESTERDAY, "Does the widget work on mobile?")
        dead = await exchange("t1", YESTERDAY - timedelta(days=30), "hello from telegram")
        session.add(
            OutboxItem(
                message_id=dead.id,
                conversation_id="t1",
                channel="telegram",
                chat_id="t1",
                status=DeliveryStatus.DEAD,
                attempts=5,
                last_error="HTTP 502 from Telegram",
            )
        )
        session.add(
            Case(
                id="case1",
                conversation_id="w1",
                state="waiting",
                rule="unanswered",
                reason="two questions in a row unanswered",
                opened_at=NOW - timedelta(hours=2),
            )
        )


async def sign_in(page: Any, live: Live) -> None:
    await page.goto(f"{live.url}/admin")
    await expect(page).to_have_url(f"{live.url}/admin/login")
    await with_token(page, TOKEN)
    await expect(page).to_have_url(f"{live.url}/admin")


async def with_token(page: Any, token: str) -> None:
    """Sign in with the admin token: the sign-in page's second way in, folded under its summary."""
    await page.get_by_text("Sign in with the admin token").click()
    await page.get_by_label("Admin token").fill(token)
    await page.get_by_role("button", name="Sign in with the token").click()


async def test_a_wrong_token_is_refused_and_the_right_one_shows_the_overview_charts(
    dashboard: Launch, page: Any
) -> None:
    live = await dashboard()
    await seed(live.app[RUNTIME].sessionmaker)
    await page.goto(f"{live.url}/admin/status")
    await with_token(page, "not-it")
    await expect(page.get_by_role("alert")).to_have_text("Sign-in failed.")

    await sign_in(page, live)
    await expect(page.locator("#messages-in")).to_have_text("6")
    await expect(page.locator("#declined")).to_have_text("50%")  # 3 of 6 bot replies
    await expect(page.locator("#breached")).to_have_text("1")
    chart = page.get_by_role("img", name="Messages in per day")
    await expect(chart).to_be_visible()
    today = TODAY.date().isoformat()
    web = chart.locator("rect", has=page.locator(f"title:text-is('{today} · web: 3 messages')"))
    api = chart.locator("rect", has=page.locator(f"title:text-is('{today} · api: 1 message')"))
    web_box, api_box = await web.bounding_box(), await api.bounding_box()
    assert web_box is not None and api_box is not None
    assert web_box["height"] == pytest.approx(3 * api_box["height"], rel=0.02)  # drawn to scale
    await expect(chart.locator("title", has_text=f"{YESTERDAY.date().isoformat()} · web: 2 messages")).to_have_count(1)

    await page.get_by_role("combobox", name="Channel").select_option("api")
    await page.get_by_role("button", name="Show").click()
    await expect(page.locator("#messages-in")).to_have_text("1")


async def test_a_knowledge_gap_opens_on_its_questions_and_conversations(dashboard: Launch, page: Any) -> None:
    live = await dashboard()
    await seed(live.app[RUNTIME].sessionmaker)
    await sign_in(page, live)
    await page.get_by_role("link", name="Knowledge gaps").click()
    biggest = page.locator("section.gap").first
    await expect(biggest.locator(".count")).to_have_text("3")
    await biggest.locator("summary").click()
    for wording in BITCOIN:
        await expect(biggest.get_by_text(wording, exact=True)).to_have_count(1)
    gap_draft = await downloaded(page, biggest.get_by_role("link", name="Rehearse this"))
    typical = (await biggest.locator("summary strong").text_content() or "").strip()
    assert [(turn.customer, turn.expect.declines) for turn in gap_draft.turns] == [(typical, False)]
    await biggest.locator("a[href^='/admin/conversations/']").first.click()
    await expect(page.get_by_role("heading", name="Conversation with Ann Example")).to_be_visible()
    await expect(page.locator("#transcript")).to_contain_text("bitcoin")
    await expect(page.locator("#transcript")).to_contain_text("declined")
    drafted = await downloaded(page, page.get_by_role("link", name="Rehearse this"))
    assert any("bitcoin" in turn.customer.lower() and turn.expect.declines for turn in drafted.turns)


async def downloaded(page: Any, link: Any) -> Rehearsal:
    """The rehearsal a "Rehearse this" link downloads, read as `supporthub rehearse` reads it."""
    async with page.expect_download() as download:
        await link.click()
    return load(Path(await (await download.value).path()))


async def test_conversations_are_found_by_their_words(dashboard: Launch, page: Any) -> None:
    live = await dashboard()
    await seed(live.app[RUNTIME].sessionmaker)
    await sign_in(page, live)
    await page.get_by_role("link", name="Conversations").click()
    await page.get_by_label("Words").fill("spreadsheet invoices")
    await page.get_by_role("button", name="Search").click()
    rows = page.locator("#conversations tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("api")
    await rows.first.get_by_role("link").click()
    await expect(page.locator("#transcript")).to_contain_text("Where do I download my invoices as a spreadsheet?")
    await expect(page.locator("#transcript")).to_contain_text("Sources: Billing › Invoices")


async def test_a_dead_letter_is_retried_from_the_status_page(dashboard: Launch, page: Any) -> None:
    live = await dashboard()
    sessionmaker = live.app[RUNTIME].sessionmaker
    await seed(sessionmaker)
    await sign_in(page, live)
    await page.get_by_role("link", name="Status").click()
    letter = page.locator("#dead-letters tbody tr").first
    await expect(letter).to_contain_text("HTTP 502 from Telegram")
    await letter.get_by_role("button", name="Retry").click()
    await expect(page.locator("#retried")).to_contain_text("queued again")
    await expect(page.locator("#dead-letters")).to_contain_text("No dead letters.")
    async with sessionmaker() as session:
        row = (await session.execute(select(OutboxItem.status, OutboxItem.attempts))).one()
    assert (row.status, row.attempts) == (DeliveryStatus.PENDING, 0)  # telegram is off here: nobody sends it


async def test_re_index_now_runs_an_audited_index_run(dashboard: Launch, page: Any, tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "crypto.md").write_text("# Paying with bitcoin\n\nWe accept bitcoin through our payment partner.\n")
    live = await dashboard(data_dir=tmp_path / "data", knowledge=KnowledgeSettings(paths=[knowledge]))
    sessionmaker = live.app[RUNTIME].sessionmaker
    await sign_in(page, live)
    await page.get_by_role("link", name="Knowledge", exact=True).click()
    await page.get_by_role("button", name="Re-index now").click()
    await expect(page.locator("#reindex-started")).to_be_visible()

    async def finished_runs() -> list[str]:
        async with sessionmaker() as session:
            rows = await session.execute(select(IndexRun.trigger).where(IndexRun.finished_at.is_not(None)))
            return list(rows.scalars())

    triggers = await until(finished_runs, timeout=120, what="the dashboard's index run")
    assert triggers[0].startswith("admin:dashboard (admin token from 127.0.0.1)")
    await page.reload()
    await expect(page.locator("#runs tbody tr").first).to_contain_text("admin:dashboard")
    await expect(page.locator("#documents")).to_contain_text("crypto.md")


@pytest.mark.slow("two re-index child processes, the second rehearsing the old and the new index")
async def test_a_re_index_the_rehearsals_hold_back_says_why_and_shows_the_failing_turn(
    dashboard: Launch, page: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/rehearsals.md, "On the dashboard": the gate in `block`, the password article losing its
    steps, re-indexed from the dashboard."""
    monkeypatch.setenv("SUPPORTHUB_KNOWLEDGE__REHEARSAL_GATE", "block")  # the suite's default is off
    articles, rehearsals = tmp_path / "help", tmp_path / "rehearsals"
    articles.mkdir()
    rehearsals.mkdir()
    (articles / "reset-your-password.md").write_text(RESET)
    (rehearsals / "password-reset.yaml").write_text(
        (SAMPLE_REHEARSALS / "password-reset.yaml").read_text().split("  - customer: the link")[0]
    )
    live = await dashboard(
        data_dir=tmp_path / "data",
        knowledge=KnowledgeSettings(paths=[articles], rehearsals=rehearsals),
    )
    sessionmaker = live.app[RUNTIME].sessionmaker

    async def finished(count: int) -> list[str | None] | None:
        async with sessionmaker() as session:
            runs = (await session.scalars(select(IndexRun).where(IndexRun.finished_at.is_not(None)))).all()
        return [run.error for run in runs] if len(runs) >= count else None

    await sign_in(page, live)
    await page.get_by_role("link", name="Rehearsals").click()
    await expect(page.locator("#no-runs")).to_contain_text("No rehearsal has run yet")
    await page.get_by_role("link", name="Knowledge", exact=True).click()
    await page.get_by_role("button", name="Re-index now").click()
    await until(partial(finished, 1), timeout=120, what="the first index run")

    (articles / "reset-your-password.md").write_text(BROKEN)

    async def button_back() -> bool:  # the page offers the button again once the first run's task ends
        await page.goto(f"{live.url}/admin/knowledge")
        return bool(await page.get_by_role("button", name="Re-index now").count())

    await until(button_back, timeout=60, what="the Re-index now button back", every=0.5)
    await page.get_by_role("button", name="Re-index now").click()
    errors = await until(partial(finished, 2), timeout=180, what="the held-back index run")
    assert errors[-1] is not None and errors[-1].startswith("HeldBack: held back by the rehearsals")
    await page.goto(f"{live.url}/admin/knowledge")
    await expect(page.locator("#runs tbody tr").first).to_contain_text(
        "rehearsal 'Reset a password, then ask for a person' passed before and fails now"
    )

    await page.get_by_role("link", name="Rehearsals").click()
    shown = await page.locator("#run").inner_text()
    stamp = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")
    for line in doc_blocks("text")[5].splitlines():  # docs/rehearsals.md shows the top of this page
        assert stamp.sub("<when>", line) in stamp.sub("<when>", shown), shown
    failing = page.locator("details.rehearsal").first
    await expect(failing).to_contain_text("Failed Reset a password, then ask for a person")
    await expect(failing).to_contain_text("Passed on the index before this change")
    await expect(failing).to_contain_text("How do I reset my password?")  # the turn as the customer wrote it
    await expect(failing).to_contain_text("Our office")  # and the reply they would have had
    await expect(failing).to_contain_text("✗ does not say 'Forgot password'")


async def test_a_canned_reply_is_written_previewed_and_a_duplicate_name_refused(dashboard: Launch, page: Any) -> None:
    live = await dashboard()
    await sign_in(page, live)
    await page.get_by_role("link", name="Canned replies").click()
    await expect(page.locator("#replies")).to_contain_text("No canned replies yet")
    await expect(page.locator("#how-to-use")).to_contain_text("In the inbox, a case's Canned reply list and Insert")
    await page.get_by_label("Name").fill("refund-policy")
    await page.get_by_label("Reply").fill("Hi {first_name}, refunds take **5 days**.\n\n— {agent}")
    await page.get_by_role("button", name="Add").click()
    await expect(page.locator("#saved")).to_contain_text("In the inbox, pick it under Canned reply on a case")
    await expect(page.locator("#saved")).to_contain_text("!reply refund-policy")
    await page.get_by_role("link", name="refund-policy").click()
    await expect(page.locator("#preview strong")).to_have_text("5 days")
    await expect(page.locator("#preview")).to_contain_text("Hi Ada, refunds take 5 days.")

    await page.get_by_role("link", name="Canned replies", exact=True).click()
    await page.get_by_label("Name").fill("refund-policy")
    await page.get_by_label("Reply").fill("A second one")
    await page.get_by_role("button", name="Add").click()
    await expect(page.get_by_role("alert")).to_contain_text("a canned reply named 'refund-policy' exists already")
    await expect(page.get_by_label("Reply")).to_have_value("A second one")  # what was typed is kept


def suggestion_of(page: Any, words: str) -> Any:
    """The suggestion whose question (the value of its form's field) holds `words`."""
    return page.locator("section.suggestion", has=page.locator(f'input[name="question"][value*="{words}"]'))


async def test_a_voted_down_answer_is_rewritten_redacted_approved_and_another_linked(
    dashboard: Launch, page: Any, tmp_path: Path
) -> None:
    own: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}",
        "knowledge": KnowledgeSettings(paths=[write_articles(tmp_path)]),
    }
    await index(Settings(**own))
    live = await dashboard(**own)
    async with aiohttp.ClientSession() as http:
        for contact, question in (("max", WORDING), ("ivy", "Can I pay by bank transfer instead of card?")):
            async with http.post(f"{live.url}/api/messages", json={"contact": contact, "text": question}) as asked:
                reply = (await asked.json())["reply"]
            vote = {"contact": contact, "message_id": reply["id"], "rating": "down"}
            async with http.post(f"{live.url}/api/feedback", json=vote) as voted:
                assert voted.status == 200
    await sign_in(page, live)
    await page.get_by_role("link", name="Suggestions").click()
    transfer = suggestion_of(page, "bank transfer")
    await transfer.locator("textarea[name=answer]").fill(
        "Yes. Email billing@acme.example and we send an invoice to pay by transfer."
    )
    await transfer.get_by_role("button", name="Approve").click()
    await expect(page.get_by_role("alert")).to_contain_text(
        "personal data to redact first: email “billing@acme.example”"
    )
    transfer = suggestion_of(page, "bank transfer")
    await expect(transfer.locator("mark")).to_have_text("billing@acme.example")  # what was typed is kept, flagged
    await transfer.get_by_role("button", name="Redact personal data").click()
    transfer = suggestion_of(page, "bank transfer")
    await expect(transfer.locator("textarea[name=answer]")).to_have_value(
        "Yes. Email [email] and we send an invoice to pay by transfer."
    )
    await transfer.locator("textarea[name=answer]").fill(
        "Yes: ask us for an invoice and pay it by bank transfer within 30 days."
    )
    await transfer.get_by_role("button", name="Approve").click()
    await expect(page.locator("#done")).to_contain_text("approved")

    accountant = suggestion_of(page, WORDING)
    await accountant.get_by_label("Or link the question").fill(
        "docs/inviting-people.md › Add a teammate to your workspace"
    )
    await accountant.get_by_role("button", name="Link").click()
    await expect(page.locator("#done")).to_contain_text("linked")
    await expect(page.locator("#empty")).to_contain_text("Nothing to review")
    await page.get_by_role("link", name="Live").click()
    await expect(page.locator("section.suggestion")).to_have_count(2)
    await expect(page.get_by_text("is answered by")).to_contain_text("docs/inviting-people.md")

    async def searched(query: str, source: str) -> bool:
        async with aiohttp.ClientSession() as http, http.get(f"{live.url}/api/search", params={"q": query}) as found:
            return bool((await found.json())[0]["source"] == source)

    await until(lambda: searched(WORDING, "docs/inviting-people.md"), timeout=120, what="the link to be searched")
    await until(
        lambda: searched("pay with a bank transfer rather than a card?", "support-team-answers/2"),
        timeout=120,
        what="the approved answer to be searched",
    )
