"""A customer's identifiers, spelled 200 look-alike ways by the person who answered them, never
reach another customer through what the bot learns (issue 56, item 2): a WhatsApp customer (their
phone verified by WhatsApp) gives their email, IBAN and a purchase number, asks for a person, and
staff answer with every spelling; the resolved case's suggestion is refused approval, redacted,
approved, indexed by the server's re-index child, and another customer is quoted it."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from channels.whatsapp.stand_in import FakeGraph, text_message
from core.settings import OutboxSettings
from tests.app_client import AppClient
from tests.integration.staff_steps import on_staff
from tests.integration.test_suggestions import BEARER, TEAM_ANSWERS, ask, first_hit, serve, suggestions
from tests.integration.test_whatsapp import case_id, meta_posts, whatsapp_settings
from tests.lookalike_spellings import EMAIL, PURCHASE, leaks, spellings
from tests.settle import until

pytestmark = pytest.mark.slow("approving re-indexes in a child process")

ASKED = "How do I reach the returns warehouse?"
SLOT = re.compile(r"reach the returns warehouse at (.*?) for that\.")
"""Where a spelling stood in a line of the staff answer, as it reads after redaction."""
SPELLINGS = spellings(200, seed=56)
LINES_PER_REPLY = 50
"""The inbox takes replies of up to 10,000 characters: the answer is four of them."""


async def review(hub: AppClient, suggestion_id: int, action: str) -> tuple[int, str]:
    response = await hub.post(f"/admin/suggestions/{suggestion_id}", data={"action": action}, headers=BEARER)
    return response.status, await response.text()


def leaked_slots(text: str) -> list[str]:
    return [slot for slot in SLOT.findall(text) if leaks(slot)]


async def test_200_look_alike_spellings_of_a_customers_identifiers_never_reach_another_customer(
    aiohttp_client: Callable[..., Any], tmp_path: Path, graph: FakeGraph
) -> None:
    hub = await serve(
        aiohttp_client,
        tmp_path,
        whatsapp=whatsapp_settings(graph),
        outbox=OutboxSettings(poll_interval_s=0.2, backoff_base_s=0.2),
    )
    await on_staff(hub.app)
    said = f"My email is {EMAIL}, my IBAN is DE89 3704 0044 0532 0130 00 and my purchase {PURCHASE} never came."
    assert await meta_posts(hub, text_message(f"{said} {ASKED}")) == 200
    await graph.wait_for_sent(1)
    assert await meta_posts(hub, text_message("I want to talk to a human please")) == 200
    case = await case_id(hub)

    lines = [f"You can also reach the returns warehouse at {spelling.text} for that." for spelling in SPELLINGS]
    replies = ["The returns warehouse is reached through the returns form.", *lines]
    for start in range(0, len(replies), LINES_PER_REPLY):
        text = "\n\n".join(replies[start : start + LINES_PER_REPLY])
        sent = await hub.post(f"/admin/inbox/{case}/reply", data={"text": text}, headers=BEARER, allow_redirects=False)
        assert sent.status == 303, await sent.text()
    resolved = await hub.post(f"/admin/inbox/{case}/resolve", headers=BEARER, allow_redirects=False)
    assert resolved.status == 303

    [suggestion] = await suggestions(hub)
    assert suggestion["question"] == ASKED
    assert len(SLOT.findall(suggestion["answer"])) == len(SPELLINGS)  # each spelling as staff typed it
    status, refused = await review(hub, suggestion["id"], "approve")
    assert status == 400 and "personal data to redact first" in refused
    assert (await review(hub, suggestion["id"], "redact"))[0] == 200
    status, approved = await review(hub, suggestion["id"], "approve")
    assert status == 200, approved

    [live] = await suggestions(hub, "live")
    assert len(SLOT.findall(live["answer"])) == len(SPELLINGS)
    assert leaked_slots(live["answer"]) == []  # what is written into knowledge and indexed

    await until(lambda: _team_answer_first(hub), timeout=120, what="the approved answer to be searched")
    quoted = await ask(hub, ASKED, contact="sam@example.com")
    assert quoted["citations"][0]["title"] == TEAM_ANSWERS
    assert SLOT.search(quoted["text"]) is not None  # the lines with the spellings are what is quoted
    assert leaked_slots(quoted["text"]) == []


async def _team_answer_first(hub: AppClient) -> bool:
    return bool((await first_hit(hub, ASKED))["title"] == TEAM_ANSWERS)
