"""The bot learns from the people who answer for it: a case a person answered and resolved
becomes one suggestion; nothing of it reaches a customer until an admin approves it, personal
data redacted; approved, it is cited as a support team answer (indexed by the server's re-index
child, loaded by the server), and withdrawn it is gone. A thumbs down queues the reply it was
for; linked to the article that answers it, the customer's wording finds that article; a
rejected suggestion never goes live."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from core.cli.server import RUNTIME, create_app
from core.ops.runtime import open_database
from core.settings import AdminSettings, LlmSettings, Settings
from core.store.db import StaffRole
from knowledge.base import KnowledgeBase
from knowledge.settings import KnowledgeSettings
from tests.app_client import AppClient
from tests.fakes.openai_server import FakeOpenAI, Text
from tests.integration.staff_steps import Person, joined
from tests.settle import until
from tests.unit.knowledge.test_written import WORDING, write_articles

pytestmark = pytest.mark.slow("approving or withdrawing an answer re-indexes in a child process")

TOKEN = "dashboard-token-of-the-lead"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
ASKED = "Can I pay by bank transfer instead of card?"
ANSWER = "Yes: on the Business plan, ask us for an invoice and pay it by bank transfer within 30 days."
TEAM_ANSWERS = "Support team answers"


async def index(settings: Settings) -> None:
    async with open_database(settings) as (_, sessionmaker):
        knowledge = await asyncio.to_thread(
            partial(KnowledgeBase.open, settings.knowledge, data_dir=settings.data_dir, sessionmaker=sessionmaker)
        )
        try:
            await knowledge.ingest(settings.knowledge.paths, trigger="test")
        finally:
            await knowledge.aclose()


async def serve(aiohttp_client: Callable[..., Any], tmp_path: Path, **overrides: Any) -> AppClient:
    """The hub over a help centre of its own (approving re-indexes it), with an admin token."""
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}",
        knowledge=KnowledgeSettings(paths=[write_articles(tmp_path)]),
        admin=AdminSettings(token=SecretStr(TOKEN)),
        **overrides,
    )
    await index(settings)
    client: AppClient = await aiohttp_client(create_app(settings))
    return client


@pytest.fixture
async def hub(aiohttp_client: Callable[..., Any], tmp_path: Path) -> AppClient:
    return await serve(aiohttp_client, tmp_path)


async def ask(hub: AppClient, text: str, *, contact: str) -> dict[str, Any]:
    response = await hub.post("/api/messages", json={"contact": contact, "text": text})
    assert response.status == 200, await response.text()
    reply: dict[str, Any] = (await response.json())["reply"]
    return reply


async def suggestions(hub: AppClient, view: str = "pending") -> list[dict[str, Any]]:
    response = await hub.get(f"/admin/api/suggestions?view={view}", headers=BEARER)
    assert response.status == 200, await response.text()
    found: list[dict[str, Any]] = await response.json()
    return found


async def first_hit(hub: AppClient, query: str) -> dict[str, Any]:
    response = await hub.get("/api/search", params={"q": query, "k": "3"})
    hits: list[dict[str, Any]] = await response.json()
    return hits[0]


async def review(person: Person, suggestion_id: int, action: str, **fields: str) -> tuple[int, str]:
    response = await person.form(f"/admin/suggestions/{suggestion_id}", "/admin/suggestions", action=action, **fields)
    return response.status, await response.text()


async def test_a_resolved_case_becomes_one_suggestion_live_only_once_approved_and_gone_once_withdrawn(
    hub: AppClient,
) -> None:
    async with (
        joined(hub, "ana@example.com", name="Ana") as ana,
        joined(hub, "lee@example.com", name="Lee", role=StaffRole.ADMIN) as lee,
    ):
        handed = await ask(
            hub, f"Hi, my name is Rosa Diaz. Can I talk to a person? {ASKED}", contact="rosa@example.com"
        )
        assert handed["handoff"] is True
        [entry] = await (await hub.get("/admin/api/inbox", headers=BEARER)).json()
        page = f"/admin/inbox/{entry['case']['id']}"
        await ana.form(f"{page}/reply", page, text=f"Hi Rosa! {ANSWER}")
        assert (await ana.form(f"{page}/resolve", page)).status == 303

        [suggestion] = await suggestions(hub)
        assert (suggestion["origin"], suggestion["question"], suggestion["answered_by"]) == ("case", ASKED, "Ana")
        assert suggestion["answer"] == f"Hi Rosa! {ANSWER}"
        assert [(found["kind"], found["text"]) for found in suggestion["personal_data"]] == [("name", "Rosa")]
        assert (await ana.form(f"{page}/resolve", page)).status == 409
        assert len(await suggestions(hub)) == 1  # one case, one suggestion

        # pending is not live, even after a re-index
        await hub.app[RUNTIME].reindexer.run("test")
        declined = await ask(hub, "can I pay with a bank transfer rather than a card?", contact="sam@example.com")
        assert all(citation["title"] != TEAM_ANSWERS for citation in declined["citations"])

        status, text = await review(ana, suggestion["id"], "approve")
        assert status == 403 and "Only an admin" in text
        status, text = await review(lee, suggestion["id"], "approve")
        assert status == 400 and "personal data to redact first: name “Rosa”" in text
        assert (await review(lee, suggestion["id"], "redact"))[0] == 303
        [redacted] = await suggestions(hub)
        assert redacted["answer"] == f"Hi [name]! {ANSWER}" and redacted["personal_data"] == []
        assert (await review(lee, suggestion["id"], "approve", question=ASKED, answer=ANSWER))[0] == 303

        [live] = await suggestions(hub, "live")
        assert (live["state"], live["reviewed_by"], live["source"]) == (
            "approved",
            "Lee",
            f"support-team-answers/{live['id']}",
        )
        hit = await until(
            lambda: _titled(first_hit(hub, "can I pay with a bank transfer rather than a card?"), TEAM_ANSWERS),
            timeout=120,
            what="the approved answer to be searched",
        )
        assert hit["section"] == ASKED
        answered = await ask(hub, "can I pay with a bank transfer rather than a card?", contact="sam@example.com")
        assert answered["handoff"] is False and "within 30 days" in answered["text"]
        assert answered["citations"][0]["title"] == TEAM_ANSWERS

        # a re-index of the files keeps it
        await hub.app[RUNTIME].reindexer.run("test")
        assert (await first_hit(hub, "can I pay with a bank transfer rather than a card?"))["title"] == TEAM_ANSWERS

        assert (await review(lee, suggestion["id"], "withdraw"))[0] == 303
        await until(
            lambda: _not_titled(first_hit(hub, "can I pay with a bank transfer rather than a card?"), TEAM_ANSWERS),
            timeout=120,
            what="the withdrawn answer to leave the index",
        )
        assert [s["state"] for s in await suggestions(hub, "closed")] == ["withdrawn"]


async def _titled(hit: Any, title: str) -> dict[str, Any] | None:
    found: dict[str, Any] = await hit
    return found if found["title"] == title else None


async def _not_titled(hit: Any, title: str) -> bool:
    return bool((await hit)["title"] != title)


async def test_a_thumbs_down_linked_to_the_right_article_finds_it_for_those_words(hub: AppClient) -> None:
    async with joined(hub, "lee@example.com", name="Lee", role=StaffRole.ADMIN) as lee:
        wrong = await ask(hub, WORDING, contact="max@example.com")
        assert wrong["citations"][0]["source"] == "docs/billing.md"
        voted = await hub.post(
            "/api/feedback", json={"contact": "max@example.com", "message_id": wrong["id"], "rating": "down"}
        )
        assert voted.status == 200
        [suggestion] = await suggestions(hub)
        assert (suggestion["origin"], suggestion["question"], suggestion["answer"]) == ("thumbs down", WORDING, "")
        assert suggestion["bot_reply"] == wrong["text"]
        assert "write the answer first" in (await review(lee, suggestion["id"], "approve"))[1]

        page = await (await lee.get("/admin/suggestions")).text()
        target = "docs/inviting-people.md › Add a teammate to your workspace"
        assert f'<option value="{target}">' in page
        status, text = await review(lee, suggestion["id"], "link", target="docs/nowhere.md › Nothing")
        assert status == 400 and "there is no section" in text
        assert (await review(lee, suggestion["id"], "link", target=target))[0] == 303
        await until(
            lambda: _from(first_hit(hub, WORDING), "docs/inviting-people.md"),
            timeout=120,
            what="the linked article to come first",
        )
        again = await ask(hub, WORDING, contact="max@example.com")
        assert again["citations"][0]["source"] == "docs/inviting-people.md"

        assert (await review(lee, suggestion["id"], "withdraw"))[0] == 303
        await until(lambda: _from(first_hit(hub, WORDING), "docs/billing.md"), timeout=120, what="the link to go")


async def _from(hit: Any, source: str) -> bool:
    return bool((await hit)["source"] == source)


async def test_a_rejected_suggestion_never_goes_live(hub: AppClient) -> None:
    async with joined(hub, "ana@example.com", name="Ana") as ana:
        wrong = await ask(hub, WORDING, contact="max@example.com")
        await hub.post(
            "/api/feedback", json={"contact": "max@example.com", "message_id": wrong["id"], "rating": "down"}
        )
        [suggestion] = await suggestions(hub)
        assert (await review(ana, suggestion["id"], "save", question=WORDING, answer="Invite them under Members."))[
            0
        ] == 303
        assert (await review(ana, suggestion["id"], "reject"))[0] == 303
        assert await suggestions(hub) == []
        [closed] = await suggestions(hub, "closed")
        assert (closed["state"], closed["reviewed_by"]) == ("rejected", "Ana")
        assert (await review(ana, suggestion["id"], "approve"))[0] == 403  # an agent cannot approve
        await hub.app[RUNTIME].reindexer.run("test")
        assert (await first_hit(hub, WORDING))["source"] == "docs/billing.md"


async def test_on_the_llm_path_a_gap_answered_in_place_is_a_passage_the_model_cites(
    aiohttp_client: Callable[..., Any], tmp_path: Path, model: FakeOpenAI
) -> None:
    llm = LlmSettings(base_url=model.base_url, api_key=SecretStr("sk-test-123"), max_retries=0, timeout_s=10)
    hub = await serve(aiohttp_client, tmp_path, llm=llm)
    answered = await hub.post(
        "/admin/gaps/answer",
        data={"question": ASKED, "phrasing": "pay by wire transfer?", "answer": ANSWER},
        headers=BEARER,
    )
    assert answered.status == 200, await answered.text()
    assert (await answered.json())["state"] == "approved"
    await until(
        lambda: _titled(first_hit(hub, "can I pay with a bank transfer rather than a card?"), TEAM_ANSWERS),
        timeout=120,
        what="the answer to be searched",
    )
    model.script(Text("Yes, by bank transfer within 30 days [1]."))
    reply = await ask(hub, "can I pay with a bank transfer rather than a card?", contact="kim@example.com")
    assert [(c["title"], c["section"]) for c in reply["citations"]] == [(TEAM_ANSWERS, ASKED)]
    assert "within 30 days" in model.requests[0].body["messages"][-1]["content"]


async def test_a_knowledge_gap_answered_in_place_drops_off_the_page(hub: AppClient) -> None:
    for contact, text in (("x@example.com", ASKED), ("y@example.com", "can I pay by wire transfer instead of a card?")):
        assert (await ask(hub, text, contact=contact))["citations"] == []  # declined
    async with joined(hub, "lee@example.com", name="Lee", role=StaffRole.ADMIN) as lee:
        report = await (await hub.get("/admin/api/gaps", headers=BEARER)).json()
        [gap] = report["gaps"]
        page = await (await lee.get("/admin/gaps")).text()
        assert 'action="/admin/gaps/answer"' in page and "Answer this group" in page
        answered = await lee.form(
            "/admin/gaps/answer",
            "/admin/gaps",
            question=gap["typical"],
            phrasing=gap["examples"][0],
            answer=ANSWER,
        )
        assert answered.status == 303 and answered.headers["Location"].startswith("/admin/suggestions?view=live")

        async def dropped_off() -> dict[str, Any] | None:
            now = await (await hub.get("/admin/api/gaps", headers=BEARER)).json()
            return now if not now["gaps"] else None

        after = await until(dropped_off, timeout=120, what="the answered group to drop off")
        assert after["resolved"] == 1
        [live] = await suggestions(hub, "live")
        assert (live["origin"], live["question"], live["reviewed_by"]) == ("knowledge gap", gap["typical"], "Lee")


async def test_a_question_kept_for_a_person_is_handed_over_until_let_go(hub: AppClient) -> None:
    async with joined(hub, "lee@example.com", name="Lee", role=StaffRole.ADMIN) as lee:
        wrong = await ask(hub, WORDING, contact="max@example.com")
        assert wrong["handoff"] is False  # answered, from billing
        vote = {"contact": "max@example.com", "message_id": wrong["id"], "rating": "down"}
        assert (await hub.post("/api/feedback", json=vote)).status == 200
        [suggestion] = await suggestions(hub)
        assert (await review(lee, suggestion["id"], "hand-over"))[0] == 303
        [kept] = await suggestions(hub, "live")
        assert (kept["state"], kept["reviewed_by"]) == ("hand over", "Lee")
        page = await (await lee.get("/admin/suggestions?view=live")).text()
        assert "and questions like it go to a person" in page
        assert "support-team-answers/hand-over" not in page  # never offered as a section to link to

        async def handed_over(question: str, contact: str) -> bool:
            return bool((await ask(hub, question, contact=contact))["handoff"])

        hand_over = "support-team-answers/hand-over"
        await until(lambda: _from(first_hit(hub, WORDING), hand_over), timeout=120, what="the hand-over to be searched")
        assert await handed_over(WORDING, "nia@example.com")
        assert await handed_over("could our accountant get a login too?", "ned@example.com")
        assert not await handed_over("How do I download an invoice?", "noa@example.com")  # billing answers its own

        assert (await review(lee, suggestion["id"], "withdraw"))[0] == 303
        await until(lambda: _from(first_hit(hub, WORDING), "docs/billing.md"), timeout=120, what="the hand-over to go")
        assert not await handed_over(WORDING, "oz@example.com")


async def test_what_changes_the_bot_needs_an_admin_and_every_form_its_csrf_value(hub: AppClient) -> None:
    async with (
        joined(hub, "ana@example.com", name="Ana") as ana,
        joined(hub, "lee@example.com", name="Lee", role=StaffRole.ADMIN) as lee,
    ):
        for contact in ("max@example.com", "kim@example.com"):
            wrong = await ask(hub, WORDING, contact=contact)
            vote = {"contact": contact, "message_id": wrong["id"], "rating": "down"}
            assert (await hub.post("/api/feedback", json=vote)).status == 200
        first, second = sorted(s["id"] for s in await suggestions(hub))
        target = "docs/inviting-people.md › Add a teammate to your workspace"
        for action, fields in (("link", {"target": target}), ("hand-over", {}), ("withdraw", {})):
            status, text = await review(ana, first, action, **fields)
            assert (status, "Only an admin can change what the bot answers." in text) == (403, True), action
        gap = await ana.form("/admin/gaps/answer", "/admin/suggestions", question=WORDING, answer=ANSWER)
        assert gap.status == 403
        forged = await lee.post(f"/admin/suggestions/{first}", {"action": "hand-over"})  # no CSRF value
        assert forged.status == 403 and "This form has expired" in await forged.text()
        forged_gap = await lee.post("/admin/gaps/answer", {"question": WORDING, "answer": ANSWER})
        assert forged_gap.status == 403
        assert {s["state"] for s in await suggestions(hub)} == {"pending"}  # nothing happened

        # the same wording linked twice: withdrawing one link keeps the other's
        for suggestion_id in (first, second):
            assert (await review(lee, suggestion_id, "link", target=target))[0] == 303
        assert (await review(lee, first, "withdraw"))[0] == 303
        await hub.app[RUNTIME].reindexer.run("test")  # after the withdrawal's own run, and loaded here
        assert (await first_hit(hub, WORDING))["source"] == "docs/inviting-people.md"
        status, _ = await review(ana, second, "save", question="changed", answer="")
        assert status == 400  # a linked question is not edited; withdraw it instead
