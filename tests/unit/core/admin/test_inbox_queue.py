"""The inbox's queue past one page, searched, on SQLite and PostgreSQL: 250 open cases and some
closed ones, a few customers known by name, email, phone or what they told the bot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.admin.inbox.queries import PAGE_SIZE, QueuePage, queue
from core.admin.inbox.search import QueueSearch
from core.handoff.hours import Sla
from core.store.case_tables import Case
from core.store.contacts import VERIFIED_EMAIL
from core.store.db import Contact, Conversation, Identity, Memory, Message

NOW = datetime(2026, 11, 3, 14, 0, tzinfo=UTC)
SLA = Sla(timedelta(minutes=30))
OPEN = 250
WAITING_EVERY = 5
"""Every fifth open case waits for a person; the others are with Ana."""
CLOSED = 30


def case_id(n: int) -> str:
    return f"{n:04x}aaaa{'0' * 24}"


def open_for(n: int) -> timedelta:
    return timedelta(minutes=OPEN + CLOSED - n)


@pytest.fixture
async def seeded(sessionmaker: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    async with sessionmaker.begin() as session:
        for n in range(OPEN + CLOSED):
            session.add(Contact(id=f"c{n}", display_name="Rosa Díaz" if n == 7 else None))
            session.add(Conversation(id=f"v{n}", contact_id=f"c{n}", channel="web", chat_id=f"chat{n}"))
        await session.flush()
        session.add(Identity(channel=VERIFIED_EMAIL, external_user_id="bo.lindqvist@example.com", contact_id="c12"))
        session.add(Identity(channel="telegram", external_user_id="55501234", contact_id="c13"))
        session.add(Memory(contact_id="c14", key="phone", value="+44 7700 900123"))
        session.add(Memory(contact_id="c15", key="plan", value="Rosa"))  # not a name: finds nothing
        for n in range(OPEN + CLOSED):
            closed = n >= OPEN
            session.add(
                Case(
                    id=case_id(n),
                    conversation_id=f"v{n}",
                    state="closed" if closed else "waiting" if n % WAITING_EVERY == 0 else "human",
                    rule="asked",
                    reason=f"reason {n}",
                    owner=None if closed or n % WAITING_EVERY == 0 else "Ana",
                    opened_at=NOW - open_for(n),
                    closed_at=NOW if closed else None,
                )
            )
            text = "My parcel 100% never arrived_late" if n in (20, OPEN + 1) else f"question {n}"
            session.add(Message(conversation_id=f"v{n}", channel="web", author="customer", text=text, created_at=NOW))
    return sessionmaker


async def page_of(
    sessionmaker: async_sessionmaker[AsyncSession], *words: str, page: int = 1, owner: str | None = None
) -> QueuePage:
    async with sessionmaker() as session:
        return await queue(
            session, now=NOW, sla=SLA, staff="en", search=QueueSearch(words=words, owner=owner), page=page
        )


def numbers(found: QueuePage) -> list[int]:
    return [int(entry.case.id[:4], 16) for entry in found.entries]


async def test_page_two_shows_the_open_cases_after_the_first_200(seeded: async_sessionmaker[AsyncSession]) -> None:
    first, second = await page_of(seeded), await page_of(seeded, page=2)
    waiting = list(range(0, OPEN, WAITING_EVERY))
    with_staff = [n for n in range(OPEN) if n % WAITING_EVERY]
    assert numbers(first) + numbers(second) == waiting + with_staff  # waiting first, then the longest open
    assert (first.first, first.last, first.matching, first.more) == (1, PAGE_SIZE, OPEN, True)
    assert (second.first, second.last, second.pages, second.more) == (PAGE_SIZE + 1, OPEN, 2, False)
    assert first.waiting == second.waiting == len(waiting)


async def test_a_page_past_the_last_is_empty_and_says_how_many_there_are(
    seeded: async_sessionmaker[AsyncSession],
) -> None:
    past = await page_of(seeded, page=3)
    assert (past.entries, past.matching, past.pages, past.first) == ([], OPEN, 2, 0)


async def test_mine_pages_through_the_cases_of_one_person(seeded: async_sessionmaker[AsyncSession]) -> None:
    anas = await page_of(seeded, owner="Ana")
    assert numbers(anas) == [n for n in range(OPEN) if n % WAITING_EVERY][:PAGE_SIZE]
    assert (anas.matching, anas.more) == (OPEN - OPEN // WAITING_EVERY, False)
    assert (await page_of(seeded, owner="Bo")).matching == 0


@pytest.mark.parametrize(
    ("words", "found"),
    [
        (("rosa",), [7]),  # the display name, in another case; "Rosa" as a plan is no name
        (("RÍOS",), []),
        (("DÍAZ",), [7]),
        (("Lindqvist@EXAMPLE",), [12]),  # a verified email
        (("55501234",), []),  # a Telegram user id says nothing to a person
        (("900123",), [14]),  # the phone they told the bot
        (("100%", "ARRIVED_late"), [20]),  # the text, literally: % and _ are no wildcards; the closed case not
        (("100",), [20, 100]),  # in a message ("100%") or in the text "question 100"
        (("rosa", "parcel"), []),  # every word: Rosa's case says nothing of a parcel
        ((case_id(33)[:8].upper(),), [33]),  # the reference as staff and the customer read it
        (("#" + case_id(34)[:8],), [34]),
        ((case_id(35),), [35]),  # the whole id, from a case's address
        ((case_id(OPEN + 2)[:8],), []),  # a closed case is not in the queue
    ],
)
async def test_a_search_finds_by_customer_text_or_reference_and_nothing_else(
    seeded: async_sessionmaker[AsyncSession], words: tuple[str, ...], found: list[int]
) -> None:
    result = await page_of(seeded, *words)
    assert sorted(numbers(result)) == found
    assert result.matching == len(found)


async def test_the_queue_names_each_case_by_its_reference(seeded: async_sessionmaker[AsyncSession]) -> None:
    first = (await page_of(seeded)).entries[0]
    assert first.reference == "#0000AAAA"
