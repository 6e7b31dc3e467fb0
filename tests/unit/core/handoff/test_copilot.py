"""The copilot on the sample help centre's real index, its cases on SQLite and PostgreSQL: a
handed-over case's suggested replies answer the customer's last question (a request for a
person left out), one passage per document, a fitting canned reply filled in for the customer
among them and an unfitting one not, the model's draft on top; and a reply sent from a
suggestion is recorded with how much of it was kept."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.handoff.canned import save_canned_reply
from core.handoff.copilot import CaseAsked, Copilot, SuggestionKind, asked_on_case
from core.handoff.copilot_uses import Used, kept, uses_of_case
from core.handoff.inbox_store import reply
from core.store.case_tables import Case, CaseEvent, CaseEventKind, CaseState
from core.store.db import Contact, Conversation, Message, utcnow
from core.store.transactions import Transactions
from knowledge.base import KnowledgeBase
from knowledge.embedding.embedder import Embedder
from knowledge.hits import Hit
from knowledge.search.index import DenseStore, LocalIndex

pytestmark = pytest.mark.postgres

CASE = "case1"


@pytest.fixture
async def sample(
    indexed_data_dir: Path, embedder: Embedder, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[KnowledgeBase]:
    """The sample help centre's index (built once per session) and the session's model."""
    knowledge = KnowledgeBase(
        embedder=embedder,
        dense=DenseStore.open(chroma_url="", data_dir=indexed_data_dir, collection="knowledge"),
        local=LocalIndex(indexed_data_dir / "bm25" / "knowledge"),
        sessionmaker=sessionmaker,
        max_chars=600,
    )
    yield knowledge
    await knowledge.aclose()


async def handed_over(
    sessionmaker: async_sessionmaker[AsyncSession],
    said: list[tuple[str, str, str | None]],
    *,
    after: Sequence[str] = (),
    draft: str | None = None,
) -> None:
    """Ann's conversation (`said`: author, text, intent), then the case, then what she wrote
    while it waited (`after`)."""
    start = utcnow() - timedelta(hours=1)
    async with sessionmaker.begin() as session:
        session.add(Contact(id="ann", display_name="Ann Example"))
        session.add(Conversation(id="c1", contact_id="ann", channel="web", chat_id="c1"))
        await session.flush()
        for minute, (author, text, intent) in enumerate(said):
            at = start + timedelta(minutes=minute)
            session.add(
                Message(conversation_id="c1", channel="web", author=author, text=text, intent=intent, created_at=at)
            )
        opened = start + timedelta(minutes=len(said))
        session.add(
            Case(
                id=CASE,
                conversation_id="c1",
                state=CaseState.WAITING,
                rule="human_request",
                reason="The customer asked for a person.",
                suggestion=draft,
                opened_at=opened,
            )
        )
        for minute, text in enumerate(after, start=1):
            at = opened + timedelta(minutes=minute)
            session.add(Message(conversation_id="c1", channel="web", author="customer", text=text, created_at=at))


async def test_a_handed_over_question_gets_its_passage_a_fitting_canned_reply_and_the_draft(
    sample: KnowledgeBase, sessionmaker: async_sessionmaker[AsyncSession], transactions: Transactions
) -> None:
    await handed_over(
        sessionmaker,
        [
            ("customer", "how do i turn on two-factor authentication?", "question"),
            ("bot", "I couldn't find that. Would you like a person?", None),
            ("customer", "yes please, I'd like to talk to a person", "human_request"),
        ],
        draft="Hi Ann, go to Settings › Security.",
    )
    fitting = "Hi {first_name}, two-factor authentication is turned on under Settings › Security — {agent}"
    await transactions.run(partial(save_canned_reply, name="two-factor", body=fitting, actor="lead"))
    greeting = "Thanks for waiting, {name}! {agent} here from the team."
    await transactions.run(partial(save_canned_reply, name="hello", body=greeting, actor="lead"))

    asked = await transactions.run(partial(asked_on_case, case_id=CASE))
    assert asked is not None and asked.message == "how do i turn on two-factor authentication?"
    suggestions = await Copilot(sample).suggest(asked, agent="Sam")

    *ranked, draft = suggestions
    assert 1 <= len(ranked) <= 3
    assert (draft.kind, draft.text, draft.key) == (SuggestionKind.DRAFT, "Hi Ann, go to Settings › Security.", "draft")
    passages = [s for s in ranked if s.kind is SuggestionKind.HELP_CENTRE]
    assert passages[0].source.endswith("two-factor-authentication.md")
    assert passages[0].title.startswith("Two-factor authentication")
    assert len({s.source for s in passages}) == len(passages)  # one passage per document
    canned = [s for s in ranked if s.kind is SuggestionKind.CANNED]
    assert [(s.title, s.key, s.link) for s in canned] == [("two-factor", "canned:two-factor", "/admin/replies")]
    assert canned[0].text == "Hi Ann, two-factor authentication is turned on under Settings › Security — Sam"


async def test_what_the_customer_asks_while_waiting_is_the_question(
    sample: KnowledgeBase, sessionmaker: async_sessionmaker[AsyncSession], transactions: Transactions
) -> None:
    await handed_over(
        sessionmaker,
        [("customer", "Can I talk to a person about my invoice?", "human_request")],
        after=["Hello? Also, how do i export all our data to csv?", "hello??"],
    )
    asked = await transactions.run(partial(asked_on_case, case_id=CASE))
    assert asked is not None and asked.message == "Hello? Also, how do i export all our data to csv?"
    suggestions = await Copilot(sample).suggest(asked, agent=None)
    assert suggestions[0].kind is SuggestionKind.HELP_CENTRE
    assert suggestions[0].source.endswith("exporting-your-data.md")
    assert all(s.kind is not SuggestionKind.DRAFT for s in suggestions)  # no LLM, no draft


class TeamAnswered:
    """A knowledge base whose best passage for anything is an approved team answer, then an article."""

    async def search(self, query: str, k: int = 5, *, language: str | None = None) -> list[Hit]:
        team = Hit(
            "t1", "support-team-answers/7", "Support team answers", "Can I pay by bank transfer?", "Yes: …", 0.9, 0.8
        )
        article = Hit(
            "a1", "billing.md", "Billing", "Paying", "Cards and invoices.", 0.5, 0.6, url="javascript:alert(1)"
        )
        return [team, article][:k]

    async def aencode(self, texts: Sequence[str]) -> np.ndarray:
        raise AssertionError("no canned replies: nothing to encode")


async def test_an_approved_team_answer_is_offered_as_the_teams_and_only_web_links_are_linked() -> None:
    asked = CaseAsked("can we pay by bank transfer?", None, "Ann", (), None)
    team, article = await Copilot(TeamAnswered()).suggest(asked, agent=None)
    assert (team.kind, team.title, team.source) == (
        SuggestionKind.TEAM_ANSWER,
        "Support team answers › Can I pay by bank transfer?",
        "support-team-answers/7",
    )
    assert (article.kind, article.link) == (SuggestionKind.HELP_CENTRE, "")


async def test_a_reply_sent_from_a_suggestion_is_recorded_with_how_much_was_kept(
    sessionmaker: async_sessionmaker[AsyncSession], transactions: Transactions
) -> None:
    await handed_over(sessionmaker, [("customer", "how do i turn on 2fa", "question")])
    passage = "Open **Settings › Security** and choose *Turn on two-factor authentication*."
    used = Used(
        SuggestionKind.HELP_CENTRE, "config/knowledge/two-factor-authentication.md", "Two-factor › Setup", passage
    )
    send = partial(reply, case_id=CASE, actor="Sam", push=frozenset())
    await transactions.run(partial(send, text=passage, used=used))
    edited = f"Hi Ann! {passage} Then scan the code with your app."
    await transactions.run(partial(send, text=edited, used=used))
    await transactions.run(partial(send, text="Anything else?"))

    uses = await transactions.run(partial(uses_of_case, case_id=CASE))
    assert [(u.kind, u.source, u.title, u.actor) for u in uses] == [
        (SuggestionKind.HELP_CENTRE, "config/knowledge/two-factor-authentication.md", "Two-factor › Setup", "Sam")
    ] * 2
    assert uses[0].kept == 1.0 and uses[1].kept == pytest.approx(kept(passage, edited)) and 0.5 < uses[1].kept < 1.0
    async with sessionmaker() as session:
        staff_messages = (
            await session.execute(
                select(Message.id, Message.text).where(Message.author == "staff").order_by(Message.id)
            )
        ).all()
        notes = (
            await session.execute(
                select(CaseEvent.note).where(CaseEvent.kind == CaseEventKind.SUGGESTED.value).order_by(CaseEvent.id)
            )
        ).scalars()
        assert [u.message_id for u in uses] == [row.id for row in staff_messages[:2]]
        assert list(notes) == [
            "help centre, “Two-factor › Setup”, sent as suggested",
            f"help centre, “Two-factor › Setup”, {int(uses[1].kept * 100)}% of it kept",
        ]


def test_kept_is_one_for_the_same_text_and_low_for_a_rewrite() -> None:
    assert kept("Refunds take 5 days.", "Refunds take 5 days.\r\n") == 1.0  # line ends and outer space aside
    assert kept("Refunds take 5 days.", "Something else entirely, about invoices.") < 0.5
