"""The inbox's suggested replies, through the app: a Telegram customer asks a question the help
centre answers, then wants a person; the case's page shows the suggestions with their sources,
Insert fills the reply box with one (nothing is sent), and the reply sent from it, edited, reaches
the customer and is recorded with the case: which suggestion, how much of it was kept."""

from __future__ import annotations

import html
import re
from functools import partial

from sqlalchemy import select

from channels.telegram.stand_in import FakeBotApi
from channels.telegram.stand_in_updates import private_message
from core.cli.server import RUNTIME
from core.handoff.canned import save_canned_reply
from core.handoff.copilot_uses import uses_of_case
from core.store.case_tables import Case
from knowledge.ingest.chunking import SECTION_SEPARATOR
from tests.app_client import AppClient
from tests.integration.staff_steps import joined
from tests.integration.test_inbox import hub, texts_to_customer
from tests.integration.test_telegram import deliver, update

__all__ = ["hub"]  # the app with the inbox, from test_inbox


def hidden_fields(page: str) -> dict[str, str]:
    """The reply form's fields a browser sends without showing them, as it sends them."""
    form = re.search(r'<form method="post" action="[^"]*/reply".*?</form>', page, re.DOTALL)
    assert form is not None
    return {
        name: html.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="(suggested_\w+)" value="([^"]*)">', form.group(0))
    }


def reply_box(page: str) -> str:
    found = re.search(r'<textarea name="text"[^>]*>(.*?)</textarea>', page, re.DOTALL)
    assert found is not None
    return html.unescape(found.group(1))


async def test_a_suggested_reply_is_shown_with_its_source_inserted_edited_sent_and_recorded(
    hub: AppClient, telegram: FakeBotApi
) -> None:
    fitting = "Hi {first_name}, you turn on two-factor authentication under Settings › Security. — {agent}"
    await hub.app[RUNTIME].transactions.run(partial(save_canned_reply, name="two-factor", body=fitting, actor="lead"))
    async with joined(hub, "ana@example.com", name="Ana") as ana:
        assert await deliver(hub, update(private_message("how do i turn on two-factor authentication?"))) == 200
        await texts_to_customer(telegram, 1)
        asked = update(private_message("thanks, but I'd like to talk to a person", message_id=2))
        assert await deliver(hub, asked) == 200
        await texts_to_customer(telegram, 2)
        async with hub.app[RUNTIME].sessionmaker() as session:
            case_id = (await session.execute(select(Case.id))).scalar_one()
        page = f"/admin/inbox/{case_id}"

        shown = await (await ana.get(page)).text()
        section = re.search(r'<section class="suggestions".*?</section>', shown, re.DOTALL)
        assert section is not None and "Suggested replies" in section.group(0)
        assert '<span class="tag">help centre</span> <strong>Two-factor authentication' in section.group(0)
        assert "· config/knowledge/two-factor-authentication.md" in section.group(0)  # the source, named
        assert '<span class="tag">canned reply</span> <a href="/admin/replies">two-factor</a>' in section.group(0)
        inserts = re.findall(r'<a class="insert" href="([^"]+)">Insert</a>', section.group(0))
        assert 2 <= len(inserts) <= 3 and not hidden_fields(shown)  # nothing inserted yet

        canned_link = next(link for link in inserts if "canned%3Atwo-factor" in link)
        filled = await (await ana.get(html.unescape(canned_link).removesuffix("#reply"))).text()
        assert reply_box(filled) == "Hi Ada, you turn on two-factor authentication under Settings › Security. — Ana"

        passage_link = inserts[0]
        inserted = await (await ana.get(html.unescape(passage_link).removesuffix("#reply"))).text()
        passage = reply_box(inserted)
        assert "two-factor" in passage.lower() and len(telegram.calls_to("sendMessage")) == 2  # inserting sent nothing
        fields = hidden_fields(inserted)
        assert fields["suggested_kind"] == "help centre"
        assert fields["suggested_source"] == "config/knowledge/two-factor-authentication.md"
        assert fields["suggested_text"] == passage

        sent = await ana.form(f"{page}/reply", page, text=f"Hi Ada! {passage}", **fields)
        assert sent.status == 303
        texts = await texts_to_customer(telegram, 3)
        assert texts[2].startswith("Hi Ada! ")
        uses = await hub.app[RUNTIME].transactions.run(partial(uses_of_case, case_id=case_id))
        assert [(u.kind.value, u.source, u.actor) for u in uses] == [
            ("help centre", "config/knowledge/two-factor-authentication.md", "Ana")
        ]
        assert 0.8 < uses[0].kept < 1.0  # a greeting added, the passage kept
        history = await (await ana.get(page)).text()
        assert (
            f"replied from a suggestion: help centre, “{fields['suggested_title']}”, {int(uses[0].kept * 100)}% of it kept"
            in history
        )

        forged = await ana.form(f"{page}/reply", page, text="hi", suggested_kind="a guess")
        assert forged.status == 400
        stale = await (await ana.get(f"{page}?suggestion=0123456789abcdef")).text()
        assert "That suggestion is no longer offered" in stale and reply_box(stale) == ""

        # The learning loop: the resolved case's suggestion offers the passage Ana replied from.
        assert (await ana.form(f"{page}/resolve", page)).status == 303
        review = await (await ana.get("/admin/suggestions")).text()
        target = f"{fields['suggested_source']}{SECTION_SEPARATOR}{fields['suggested_section']}"
        assert fields["suggested_section"] and f'value="{html.escape(target)}" required' in review
        assert f"Ana replied from <code>{fields['suggested_source']}</code>" in review
