"""Which team's queue a new case goes to and who gets it, on SQLite and PostgreSQL: the rule that
says most wins, a case no rule fits stays in everyone's queue, round robin takes turns among the
members signed in and under capacity, inside the team's hours, and says why when nobody is free."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from core.handoff.cases import CaseOpening, move_case, open_case
from core.handoff.routing import Routed, route_case
from core.handoff.teams import TeamError, join_team, save_team
from core.store.case_tables import Case, CaseEvent, CaseEventKind, CaseState
from core.store.db import Contact, Conversation, Message, StaffMember, StaffRole, StaffSession, utcnow
from core.store.transactions import Transactions

MONDAY_NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class Desk:
    """Cases opened as the pipeline opens them, then routed."""

    def __init__(self, transactions: Transactions, *, prefix: str = "") -> None:
        self._run = transactions.run
        self._prefix = prefix
        self._count = 0

    async def case(
        self,
        *,
        channel: str = "web",
        language: str | None = "en",
        reason: str = "Asked for a person.",
        cited: str | None = None,
        now: datetime | None = None,
    ) -> tuple[str, Routed | None]:
        self._count += 1
        conversation = f"{self._prefix}conv{self._count}"

        def opened(session: Session) -> tuple[str, Routed | None]:
            contact = f"{self._prefix}ann"
            if session.get(Contact, contact) is None:
                session.add(Contact(id=contact))
            session.add(Conversation(id=conversation, contact_id=contact, channel=channel, chat_id=conversation))
            session.flush()
            asked = Message(conversation_id=conversation, channel=channel, author="customer", text="help")
            session.add(asked)
            if cited is not None:
                section = {"source": "help/x.md", "title": "Billing", "section": cited, "score": 0.7, "url": ""}
                session.add(
                    Message(conversation_id=conversation, channel=channel, author="bot", text="…", citations=[section])
                )
            session.flush()
            opening = CaseOpening("human_request", reason, language=language)
            case_id = open_case(session, conversation_id=conversation, message_id=asked.id, opening=opening)
            return case_id, route_case(session, case_id=case_id, now=now or utcnow())

        return await self._run(opened)


async def staff_on(sessionmaker: async_sessionmaker[AsyncSession], *people: tuple[str, bool]) -> None:
    """People who joined; those marked True have a session that has not run out."""
    async with sessionmaker.begin() as session:
        for name, signed_in in people:
            session.add(
                StaffMember(
                    id=name.lower(),
                    email=f"{name.lower()}@example.com",
                    name=name,
                    role=StaffRole.AGENT,
                    password_hash="x",
                )
            )
            if signed_in:
                session.add(
                    StaffSession(
                        token_hash=f"h-{name}",
                        staff_id=name.lower(),
                        csrf="c",
                        expires_at=utcnow() + timedelta(hours=8),
                    )
                )


async def route_event(sessionmaker: async_sessionmaker[AsyncSession], case_id: str) -> str | None:
    async with sessionmaker() as session:
        return (
            await session.execute(
                select(CaseEvent.note).where(CaseEvent.case_id == case_id, CaseEvent.kind == CaseEventKind.ROUTE)
            )
        ).scalar_one()


async def test_without_teams_nothing_is_routed(transactions: Transactions) -> None:
    _, routed = await Desk(transactions).case()
    assert routed is None


async def test_the_rule_that_says_most_wins_and_a_case_no_rule_fits_is_everyones(
    transactions: Transactions, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    run = transactions.run
    await run(partial(save_team, name="german", languages="de", actor="test"))
    await run(partial(save_team, name="email", channels="email", actor="test"))
    await run(partial(save_team, name="german-email", channels="email", languages="de", actor="test"))
    await run(partial(save_team, name="billing", topics="refund", actor="test"))
    desk = Desk(transactions)

    _, german = await desk.case(channel="web", language="de")
    _, email = await desk.case(channel="email", language="en")
    both_id, both = await desk.case(channel="email", language="de")
    _, refund = await desk.case(reason="The customer mentions a refund.")
    _, cited = await desk.case(cited="Refunds and returns")
    nobody_id, nobody = await desk.case(channel="sms", language="fr")

    assert [r.team if r else None for r in (german, email, both, refund, cited, nobody)] == [
        "german",
        "email",
        "german-email",
        "billing",
        "billing",
        None,
    ]
    assert await route_event(sessionmaker, both_id) == "to the team german-email (channel email, language de)"
    assert await route_event(sessionmaker, nobody_id) == "no team's rule fits: everyone's queue"
    async with sessionmaker() as session:
        assert (await session.get_one(Case, nobody_id)).team_id is None


async def test_round_robin_takes_turns_among_members_signed_in_and_under_capacity(
    transactions: Transactions, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await staff_on(sessionmaker, ("Ana", True), ("Bo", True), ("Cy", False), ("Dee", True))
    run = transactions.run
    await run(partial(save_team, name="german", languages="de", round_robin=True, capacity=2, actor="test"))
    for email in ("ana@example.com", "bo@example.com", "cy@example.com"):  # Dee is on no team
        await run(partial(join_team, name="german", email=email, actor="test"))
    desk = Desk(transactions)

    owners = [(await desk.case(language="de"))[1] for _ in range(4)]
    assert [routed.owner for routed in owners if routed] == ["Ana", "Bo", "Ana", "Bo"]
    full_id, full = await desk.case(language="de")
    assert full is not None and (full.team, full.owner) == ("german", None)
    assert await route_event(sessionmaker, full_id) == (
        "to the team german (language de); nobody assigned: Ana at capacity (2), Bo at capacity (2), Cy not signed in"
    )

    async with sessionmaker() as session:
        ana_first = (
            await session.execute(select(Case.id).where(Case.owner == "Ana").order_by(Case.opened_at).limit(1))
        ).scalar_one()
    await run(partial(move_case, case_id=ana_first, to=CaseState.CLOSED, actor="Ana"))
    _, freed = await desk.case(language="de")
    assert freed is not None and freed.owner == "Ana"


async def test_outside_the_teams_hours_the_case_waits_in_its_queue(
    transactions: Transactions, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await staff_on(sessionmaker, ("Ana", True))
    run = transactions.run
    hours = "weekdays=09:00-17:00; timezone=Europe/Berlin"
    await run(partial(save_team, name="day", round_robin=True, hours=hours, actor="test"))
    await run(partial(join_team, name="day", email="ana@example.com", actor="test"))
    desk = Desk(transactions)

    _, at_night = await desk.case(now=MONDAY_NOON.replace(hour=22))
    _, at_noon = await desk.case(now=MONDAY_NOON)

    assert at_night is not None and at_night.owner is None and at_night.note.endswith("outside the team's hours")
    assert at_noon is not None and at_noon.owner == "Ana"


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"name": "Billing Team"}, "cannot be a team's name"),
        ({"name": "b", "capacity": 0}, "the capacity"),
        ({"name": "b", "hours": "monday 9-5"}, "write each day as day=hours"),
        ({"name": "b", "hours": "monday=09:00-17:00; timezone=Mars/Olympus"}, "IANA time zone"),
        ({"name": "b", "languages": "de;fr"}, "cannot be a language"),
    ],
)
async def test_a_team_that_cannot_be_is_refused_with_the_reason(
    transactions: Transactions, fields: dict[str, object], problem: str
) -> None:
    with pytest.raises(TeamError, match=problem):
        await transactions.run(partial(save_team, actor="test", **fields))  # type: ignore[arg-type]


async def test_cases_opened_at_once_never_pass_a_members_capacity(
    transactions: Transactions, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Six cases routed at the same moment (as by several processes, each its own transaction):
    the team's row is locked while a member is chosen, so each member gets their capacity."""
    await staff_on(sessionmaker, ("Ana", True), ("Bo", True))
    run = transactions.run
    await run(partial(save_team, name="german", languages="de", round_robin=True, capacity=2, actor="test"))
    for email in ("ana@example.com", "bo@example.com"):
        await run(partial(join_team, name="german", email=email, actor="test"))
    desks = [Desk(transactions, prefix=f"p{n}-") for n in range(6)]

    routed = await asyncio.gather(*(desk.case(language="de") for desk in desks))

    owners = sorted(str(r.owner) for _, r in routed if r is not None)
    assert owners == ["Ana", "Ana", "Bo", "Bo", "None", "None"]
