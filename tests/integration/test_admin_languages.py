"""The customer's language on the dashboard, as an operator meets it: customers write in German,
Spanish and English through the REST channel (the turn detects each message's language), and
/admin/conversations shows each conversation's language and narrows the list to one; a
conversation's page says its language and marks a message written in another; a case says
which language its customer needs."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy.orm import Session

from core.cli.server import RUNTIME, create_app
from core.settings import AdminSettings, Settings
from core.store.case_tables import Case
from core.store.db import Contact, Conversation
from tests.app_client import AppClient
from tests.integration.staff_steps import on_staff
from tests.integration.test_admin_access import BEARER, TOKEN
from tests.integration.test_api import ask

GERMAN = "Wie verbinde ich mein Bankkonto mit meinem Konto?"
SPANISH = "¿Cuánto cuesta el plan Solo al mes?"
ENGLISH = "How can I reset the password for my account, please?"


@pytest.fixture
async def hub(aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]) -> AppClient:
    app = create_app(make_settings(admin=AdminSettings(token=SecretStr(TOKEN))))
    return await aiohttp_client(app)  # type: ignore[no-any-return]


async def html(hub: AppClient, path: str) -> str:
    response = await hub.get(path, headers=BEARER)
    assert response.status == 200, await response.text()
    return await response.text()


def table(page: str, table_id: str) -> list[tuple[str, list[str]]]:
    """A table's body rows: the conversation each links to, and its cells with tags stripped."""
    start = page.index(f'<table id="{table_id}">')
    found = []
    for row in re.findall(r"<tr>(.*?)</tr>", page[start : page.index("</table>", start)], flags=re.S):
        link = re.search(r'href="/admin/conversations/(\w+)"', row)
        if link is not None:
            cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
            found.append((link.group(1), [re.sub(r"<[^>]+>", "", cell).strip() for cell in cells]))
    return found


def rows(page: str) -> dict[str, list[str]]:
    """The conversations table's rows by conversation id."""
    return dict(table(page, "conversations"))


def language_choices(page: str) -> list[tuple[str, str]]:
    select = page[page.index('<select name="language">') :]
    select = select[: select.index("</select>")]
    return re.findall(r'<option value="(\w*)"[^>]*>([^<]+)</option>', select)


async def test_the_list_shows_each_conversations_language_and_the_filter_narrows_it(hub: AppClient) -> None:
    german = (await ask(hub, GERMAN, contact="anna@example.de"))["conversation_id"]
    spanish = (await ask(hub, SPANISH, contact="bruno@example.es"))["conversation_id"]
    english = (await ask(hub, ENGLISH, contact="carol@example.com"))["conversation_id"]
    unsure = (await ask(hub, "ok", contact="dan@example.com"))["conversation_id"]  # too short to tell

    listed = await html(hub, "/admin/conversations")
    languages = {id: cells[4] for id, cells in rows(listed).items()}
    assert languages == {german: "German", spanish: "Spanish", english: "English", unsure: "—"}
    assert language_choices(listed) == [("", "All"), ("de", "German"), ("en", "English"), ("es", "Spanish")]

    only_german = await html(hub, "/admin/conversations?language=de")
    assert list(rows(only_german)) == [german]
    assert '<option value="de" selected>German</option>' in only_german

    spanish_json = await (await hub.get("/admin/api/conversations?language=es", headers=BEARER)).json()
    assert [(row["id"], row["language"]) for row in spanish_json["rows"]] == [(spanish, "es")]
    italian = await (await hub.get("/admin/api/conversations?language=it", headers=BEARER)).json()
    assert italian["rows"] == []  # a language nobody wrote in: nothing found, not an error


async def test_the_other_filters_and_the_language_filter_combine(hub: AppClient) -> None:
    await ask(hub, GERMAN, contact="anna@example.de")
    ours = (await ask(hub, "Wie ändere ich mein Passwort in der App?", contact="berta@example.de"))["conversation_id"]
    await ask(hub, ENGLISH, contact="berta@example.com")

    page = await html(hub, "/admin/conversations?language=de&q=Passwort")
    assert list(rows(page)) == [ours]


async def test_a_language_that_is_not_an_iso_code_is_a_400_with_the_reason(hub: AppClient) -> None:
    for value in ["German", "DE", "xx", "deu", "de'"]:
        for path in ["/admin/conversations", "/admin/api/conversations"]:
            response = await hub.get(path, params={"language": value}, headers=BEARER)
            assert response.status == 400, value
            assert "language is a language's two-letter ISO 639-1 code, such as de or es" in await response.text()


async def test_the_conversation_page_says_its_language_and_marks_a_message_written_in_another(
    hub: AppClient,
) -> None:
    conversation = (await ask(hub, SPANISH, contact="bruno@example.es"))["conversation_id"]
    await ask(hub, "Sorry, can we continue in English please?", contact="bruno@example.es")
    await ask(hub, "ok", contact="bruno@example.es")  # says too little to have a language

    page = await html(hub, f"/admin/conversations/{conversation}")
    assert "language English ·" in page  # the latest sure message moved the conversation to English
    customer = re.findall(r'<article class="message customer".*?</article>', page, flags=re.S)
    assert len(customer) == 3
    assert [("written in Spanish" in message) for message in customer] == [True, False, False]
    assert "written in" not in "".join(customer[1:])

    shown = await (await hub.get(f"/admin/api/conversations/{conversation}", headers=BEARER)).json()
    assert shown["conversation"]["language"] == "en"
    said = [(m["author"], m["language"]) for m in shown["messages"] if m["author"] == "customer"]
    assert said == [("customer", "es"), ("customer", "en"), ("customer", None)]


async def conversation_with_a_case(hub: AppClient, *, language: str | None) -> str:
    """A web conversation handed to a person, its case needing `language`: its id."""

    def work(session: Session) -> str:
        contact = Contact(display_name="Jürgen")
        session.add(contact)
        session.flush()
        conversation = Conversation(contact_id=contact.id, channel="web", chat_id=f"chat-{contact.id}", state="waiting")
        session.add(conversation)
        session.flush()
        session.add(
            Case(
                conversation_id=conversation.id,
                state="waiting",
                rule="declined",
                reason="no answer in the knowledge base",
                language=language,
            )
        )
        return conversation.id

    return await hub.app[RUNTIME].transactions.run(work)


async def test_a_case_says_which_language_its_customer_needs(hub: AppClient) -> None:
    german = await conversation_with_a_case(hub, language="de")
    unknown = await conversation_with_a_case(hub, language=None)

    cases = await html(hub, "/admin/cases")
    assert "<th>Needs</th>" in cases
    assert {conversation: cells[6] for conversation, cells in table(cases, "cases")} == {german: "German", unknown: "—"}
    queue = await (await hub.get("/admin/api/cases", headers=BEARER)).json()
    assert sorted(case["language"] or "" for case in queue) == ["", "de"]

    page = await html(hub, f"/admin/conversations/{german}")
    assert "needs: German" in page


async def test_a_customer_handed_over_in_german_is_a_case_that_needs_german(hub: AppClient) -> None:
    await on_staff(hub.app)  # a desk takes the case
    contact = "jurgen@example.de"
    first = await ask(hub, "Welcher Wein passt am besten zu gegrilltem Lachs?", contact=contact)
    second = await ask(hub, "Und welcher Käse passt zu einem trockenen Rotwein?", contact=contact)
    assert second["reply"]["handoff"] is True

    (queued,) = await (await hub.get("/admin/api/cases", headers=BEARER)).json()
    assert (queued["conversation_id"], queued["language"]) == (first["conversation_id"], "de")
    cases = await html(hub, "/admin/cases")
    assert [cells[6] for _, cells in table(cases, "cases")] == ["German"]
    assert "needs: German" in await html(hub, f"/admin/conversations/{first['conversation_id']}")
