"""Issue 60: a customer waiting for a person while nobody on the staff is signed in is mailed to
the staff through the email channel's relay (a real SMTP server here) — once per case, not once
per message, and not while someone is signed in; the inbox's case page names who was mailed."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select

from channels.email.stand_in import SmtpRelay
from core.cli.server import RUNTIME, create_app
from core.handoff.waiting import WaitingMail
from core.settings import AdminSettings, HandoffSettings, Settings
from core.store import staff
from core.store.case_tables import Case
from core.store.db import StaffRole, utcnow
from tests.app_client import AppClient
from tests.integration.staff_steps import joined
from tests.integration.test_email import port, settings_for  # noqa: F401  (fixtures)

TOKEN = "dashboard-token-of-the-lead"


def docs_mail() -> str:
    """The mail docs/inbox.md shows."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "inbox.md").read_text(encoding="utf-8")
    blocks: list[str] = re.findall(r"```text\n(.*?)```", page, re.DOTALL)
    [block] = [b for b in blocks if b.startswith("Subject: A customer")]
    return block.strip()


def as_pattern(example: str) -> str:
    """The docs' example with what changes from mail to mail (minutes, times, the link) left open."""
    pattern = re.escape(example)
    pattern = re.sub(r"waited\\ \d+", r"waited\\ \\d+", pattern)
    pattern = re.sub(r"\d{4}\\-\d\d\\-\d\d\\ \d\d:\d\d", r"[-\\d: ]+", pattern)
    return re.sub(
        r"https://support\\.example\\.com/admin/inbox/\S+", r"http://127\\.0\\.0\\.1:8080/admin/inbox/\\w+", pattern
    )


async def account(hub: AppClient, email: str) -> None:
    """Someone on the staff with an account, not signed in anywhere."""
    run = hub.app[RUNTIME].transactions.run
    token = await run(partial(staff.invite, email=email, name="", role=StaffRole.AGENT, actor="test"))
    await run(partial(staff.accept, token=token, name=email.split("@")[0].title(), password_hash="not checked here"))


async def asks_for_a_person(hub: AppClient, contact: str) -> str:
    """The case a customer's request for a person opens."""
    response = await hub.post("/api/messages", json={"contact": contact, "text": "I want to talk to a person"})
    assert response.status in (200, 202), await response.text()
    async with hub.app[RUNTIME].sessionmaker() as session:
        conversation = (await response.json())["conversation_id"]
        return (await session.execute(select(Case.id).where(Case.conversation_id == conversation))).scalar_one()


async def test_a_waiting_case_with_nobody_signed_in_is_mailed_to_the_staff_once(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], relay: SmtpRelay
) -> None:
    settings = settings_for(
        admin=AdminSettings(token=SecretStr(TOKEN)), handoff=HandoffSettings(mail_waiting_after_minutes=10)
    )
    hub: AppClient = await aiohttp_client(create_app(settings))
    for email in ("bo@example.com", "ana@example.com"):
        await account(hub, email)
    waiting = hub.app[RUNTIME].waiting_mail
    assert isinstance(waiting, WaitingMail)
    case_id = await asks_for_a_person(hub, "rosa")
    opened = utcnow()

    assert await waiting.tell(now=opened + timedelta(minutes=5)) == 0  # not waited long enough yet
    assert await waiting.tell(now=opened + timedelta(minutes=11)) == 1
    [mail] = relay.messages
    assert sorted(mail.rcpt_tos) == ["ana@example.com", "bo@example.com"]
    assert str(mail.message["Subject"]).startswith("A customer has waited 1") and "(api)" in str(
        mail.message["Subject"]
    )
    assert mail.message["Auto-Submitted"] == "auto-generated"
    text = mail.message.get_content().replace("\r\n", "\n")  # the wire's line ends
    assert "They asked: I want to talk to a person" in text
    assert f"Open the case: http://127.0.0.1:8080/admin/inbox/{case_id}" in text
    shown = f"Subject: {mail.message['Subject']}\n\n{text}"
    assert re.fullmatch(as_pattern(docs_mail()), shown.strip()), shown  # docs/inbox.md shows this mail

    await hub.post("/api/messages", json={"contact": "rosa", "text": "hello? is anyone there?"})
    assert await waiting.tell(now=opened + timedelta(minutes=30)) == 0  # once per case, not per message
    assert len(relay.messages) == 1

    async with joined(hub, "cy@example.com", name="Cy") as cy:  # someone signs in: they see the queue
        later = await asks_for_a_person(hub, "sam")
        assert await waiting.tell(now=utcnow() + timedelta(minutes=11)) == 0
        page = await (await cy.get(f"/admin/inbox/{case_id}")).text()
        assert "mailed the staff, nobody being signed in: ana@example.com, bo@example.com" in page
    assert len(relay.messages) == 1 and later != case_id
