"""Which waiting cases the staff are mailed about, on SQLite and PostgreSQL: past the threshold,
once each, never while someone is signed in, and again after a mail that did not go."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.handoff.waiting import to_tell, told_by_mail, untold
from core.store.case_tables import Case, CaseState, Team, TeamMember
from core.store.db import Contact, Conversation, Message, StaffMember, StaffRole, StaffSession, utcnow
from core.store.transactions import Transactions

AFTER = timedelta(minutes=10)


async def test_a_waiting_case_is_told_once_past_the_threshold_and_never_while_someone_is_signed_in(
    sessionmaker: async_sessionmaker[AsyncSession], transactions: Transactions
) -> None:
    opened = utcnow() - timedelta(minutes=30)
    async with sessionmaker.begin() as session:
        session.add(Contact(id="ann"))
        session.add_all(Conversation(id=c, contact_id="ann", channel="sms", chat_id=c) for c in ("c1", "c2", "c3"))
        await session.flush()
        session.add(
            Message(
                conversation_id="c1", channel="sms", author="customer", text="Where is my refund?", created_at=opened
            )
        )
        session.add_all(
            [
                Case(id="waits", conversation_id="c1", state=CaseState.WAITING, rule="r", reason="x", opened_at=opened),
                Case(id="claimed", conversation_id="c2", state=CaseState.HUMAN, rule="r", reason="x", opened_at=opened),
                Case(id="new", conversation_id="c3", state=CaseState.WAITING, rule="r", reason="x", opened_at=utcnow()),
            ]
        )
        session.add_all(
            [
                StaffMember(id="s1", email="bo@example.com", name="Bo", role=StaffRole.AGENT, password_hash="x"),
                StaffMember(id="s2", email="ana@example.com", name="Ana", role=StaffRole.AGENT, password_hash="x"),
                StaffMember(id="s3", email="invited@example.com", name="", role=StaffRole.AGENT),  # not joined
            ]
        )
    tell = partial(to_tell, now=utcnow(), after=AFTER)

    [told] = await transactions.run(tell)
    assert (told.case_id, told.channel, told.question) == ("waits", "sms", "Where is my refund?")
    assert told.to == ("ana@example.com", "bo@example.com")
    assert await transactions.run(tell) == []  # once
    assert await transactions.run(partial(told_by_mail, case_id="waits")) == "ana@example.com, bo@example.com"

    await transactions.run(partial(untold, event_id=told.event_id))  # the relay refused it
    async with sessionmaker.begin() as session:  # meanwhile Bo signs in
        session.add(StaffSession(token_hash="h", staff_id="s1", csrf="c", expires_at=utcnow() + timedelta(hours=1)))
    assert await transactions.run(tell) == []
    async with sessionmaker.begin() as session:
        (await session.get_one(StaffSession, "h")).expires_at = utcnow() - timedelta(minutes=1)  # and it ran out
    [again] = await transactions.run(tell)
    assert again.case_id == "waits"


async def test_a_teams_case_is_mailed_to_its_members_while_none_of_them_is_signed_in(
    sessionmaker: async_sessionmaker[AsyncSession], transactions: Transactions
) -> None:
    opened = utcnow() - timedelta(minutes=30)
    async with sessionmaker.begin() as session:
        session.add(Contact(id="ann"))
        session.add_all(Conversation(id=c, contact_id="ann", channel="sms", chat_id=c) for c in ("c1", "c2"))
        session.add_all([Team(id=1, name="billing"), Team(id=2, name="german")])
        session.add_all(
            StaffMember(id=f"s{i}", email=f"{n}@example.com", name=n, role=StaffRole.AGENT, password_hash="x")
            for i, n in enumerate(("bo", "ana", "cy"), start=1)
        )
        await session.flush()
        session.add_all([TeamMember(team_id=1, staff_id="s1"), TeamMember(team_id=1, staff_id="s2")])
        session.add(TeamMember(team_id=2, staff_id="s3"))
        session.add_all(
            Case(id=team, conversation_id=c, state=CaseState.WAITING, rule="r", reason="x", opened_at=opened, team_id=i)
            for i, (team, c) in enumerate((("billing", "c1"), ("german", "c2")), start=1)
        )
        # Cy, of the German team, is signed in: the billing team, none of whom is, is mailed.
        session.add(StaffSession(token_hash="h", staff_id="s3", csrf="c", expires_at=utcnow() + timedelta(hours=1)))

    [told] = await transactions.run(partial(to_tell, now=utcnow(), after=AFTER))

    assert (told.case_id, told.to) == ("billing", ("ana@example.com", "bo@example.com"))
