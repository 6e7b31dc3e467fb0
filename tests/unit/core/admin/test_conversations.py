"""The dashboard's conversation search and transcript on seeded rows, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.admin.queries.contact_labels import contact_labels
from core.admin.queries.conversations import (
    PREVIEW_CHARS,
    CaseEventInfo,
    ConversationFilter,
    FeedbackInfo,
    FileInfo,
    MemoryInfo,
    languages,
    search,
    transcript,
)
from core.store.case_tables import Case, CaseEvent
from core.store.db import (
    AttachmentRow,
    Contact,
    Conversation,
    Feedback,
    Identity,
    Memory,
    Message,
)

DAY1 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1)
DAY3 = DAY2 + timedelta(days=1)
CITED = [{"source": "account.md", "title": "Account", "section": "Passwords", "score": 0.81}]
LONG = "Let me check your invoice. " + "x" * 300


@pytest.fixture
async def seeded(sessionmaker: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """v1 (Ada, web, bot) asks about a password in English; v2 (Ada, Telegram, waiting) about an
    invoice, in a German conversation; v3 (an SMS number, with a person, German) about a password and a
    code; v4 (web) has no messages and no language."""
    async with sessionmaker.begin() as session:
        session.add_all([Contact(id="id-ada", display_name="Ada Lovelace"), Contact(id="id-sms")])
        await session.flush()
        session.add_all(
            [
                Identity(channel="web", external_user_id="session-AAA", contact_id="id-ada"),
                Identity(channel="sms", external_user_id="+15551234567", contact_id="id-sms"),
                Conversation(
                    id="v1",
                    contact_id="id-ada",
                    channel="web",
                    chat_id="w1",
                    state="bot",
                    updated_at=DAY1,
                    created_at=DAY1 - timedelta(hours=1),
                    summary="Asked how to reset a password.",
                    language="en",
                ),
                Conversation(
                    id="v2",
                    contact_id="id-ada",
                    channel="telegram",
                    chat_id="t1",
                    state="waiting",
                    updated_at=DAY2,
                    language="de",
                ),
                Conversation(
                    id="v3",
                    contact_id="id-sms",
                    channel="sms",
                    chat_id="s1",
                    state="human",
                    updated_at=DAY3,
                    unreachable_reason="opted out",
                    language="de",
                ),
                Conversation(
                    id="v4",
                    contact_id="id-sms",
                    channel="web",
                    chat_id="w2",
                    state="bot",
                    updated_at=DAY1 - timedelta(days=1),
                ),
            ]
        )
        await session.flush()

        async def message(conversation: str, author: str, text: str, **fields: object) -> Message:
            channel = {"v1": "web", "v2": "telegram", "v3": "sms"}[conversation]
            row = Message(
                conversation_id=conversation, channel=channel, author=author, text=text, created_at=DAY1, **fields
            )
            session.add(row)
            await session.flush()
            return row

        asked = await message(
            "v1",
            "customer",
            "How do I reset my password?",
            intent="question",
            polarity=-0.25,
            frustration=0.5,
            language="en",
        )
        answer = await message(
            "v1", "bot", "Settings > Reset password.", citations=CITED, reply_to=asked.id, language="en"
        )
        await message("v1", "customer", "thanks, 100% done")
        await message("v2", "customer", "My INVOICE is wrong", language="en")
        await message("v2", "bot", "I could not find that; shall I bring in a person?", declined=True, handoff=True)
        await message("v2", "staff", LONG)
        await message("v3", "customer", "password for code 50_off?")

        session.add_all(
            [
                AttachmentRow(message_id=asked.id, filename="screen.png", content_type="image/png", size=1234),
                AttachmentRow(
                    message_id=asked.id,
                    filename="notes.pages",
                    content_type="application/octet-stream",
                    size=99,
                    problem="I can't read .pages files.",
                ),
                Feedback(message_id=answer.id, rating="up", comment="spot on"),
                Memory(contact_id="id-ada", key="email", value="ada@example.com"),
                Case(
                    id="k1",
                    conversation_id="v1",
                    state="human",
                    rule="keyword",
                    reason="asked for a person",
                    owner="alice",
                    opened_at=DAY1 + timedelta(minutes=1),
                ),
                Case(
                    id="k2",
                    conversation_id="v2",
                    state="waiting",
                    rule="declined",
                    reason="no answer",
                    opened_at=DAY2,
                    language="de",
                ),
            ]
        )
        await session.flush()
        session.add_all(
            [  # written out of order: the transcript orders them by time
                CaseEvent(
                    case_id="k1",
                    from_state="waiting",
                    to_state="human",
                    actor="alice",
                    note="on it",
                    at=DAY1 + timedelta(minutes=5),
                ),
                CaseEvent(
                    case_id="k1",
                    from_state=None,
                    to_state="waiting",
                    actor="bot",
                    note="asked for a person",
                    at=DAY1 + timedelta(minutes=1),
                ),
                CaseEvent(case_id="k2", from_state=None, to_state="waiting", actor="bot", at=DAY2),
            ]
        )
    return sessionmaker


async def found(sessionmaker: async_sessionmaker[AsyncSession], filter: ConversationFilter) -> list[str]:
    async with sessionmaker() as session:
        page = await search(session, filter)
    return [row.id for row in page.rows]


@pytest.mark.parametrize(
    ("words", "ids"),
    [
        ("password", ["v3", "v1"]),  # v1 has it in two messages and is still one row
        ("PASSWORD reset", ["v1"]),  # every word, in any case
        ("invoice check", ["v2"]),  # the words may be in different messages (customer's, staff's)
        ("password invoice", []),
        ("%", ["v1"]),  # literal, not a wildcard
        ("_", ["v3"]),
        ("  ", ["v3", "v2", "v1", "v4"]),
    ],
)
async def test_search_by_words(seeded: async_sessionmaker[AsyncSession], words: str, ids: list[str]) -> None:
    assert await found(seeded, ConversationFilter(words=words)) == ids


@pytest.mark.parametrize(
    ("contact", "ids"),
    [
        ("ada", ["v2", "v1"]),  # display name
        ("5551234", ["v3", "v4"]),  # an identity's external user id
        (" SESSION-aaa ", ["v2", "v1"]),
        ("id-sms", ["v3", "v4"]),  # the contact id, exactly
        ("id-", []),  # not a substring of the id
        ("%", []),
    ],
)
async def test_search_by_contact(seeded: async_sessionmaker[AsyncSession], contact: str, ids: list[str]) -> None:
    assert await found(seeded, ConversationFilter(contact=contact)) == ids


async def test_search_by_channel_state_and_date(seeded: async_sessionmaker[AsyncSession]) -> None:
    assert await found(seeded, ConversationFilter(channel="web")) == ["v1", "v4"]
    assert await found(seeded, ConversationFilter(state="human")) == ["v3"]
    assert await found(seeded, ConversationFilter(since=DAY1, until=DAY3)) == ["v2", "v1"]  # until is exclusive
    assert await found(seeded, ConversationFilter(since=DAY2)) == ["v3", "v2"]
    everything = ConversationFilter(words="password", contact="555", channel="sms", state="human", since=DAY3)
    assert await found(seeded, everything) == ["v3"]


async def test_search_by_language_and_the_languages_conversations_are_in(
    seeded: async_sessionmaker[AsyncSession],
) -> None:
    assert await found(seeded, ConversationFilter(language="de")) == ["v3", "v2"]
    assert await found(seeded, ConversationFilter(language="en")) == ["v1"]
    assert await found(seeded, ConversationFilter(language="fr")) == []
    assert await found(seeded, ConversationFilter(language="de", channel="sms", words="password")) == ["v3"]
    async with seeded() as session:
        assert await languages(session) == ["de", "en"]  # v4's unknown language is no choice
        rows = (await search(session, ConversationFilter())).rows
    assert [(row.id, row.language) for row in rows] == [("v3", "de"), ("v2", "de"), ("v1", "en"), ("v4", None)]


async def test_search_rows_and_paging(seeded: async_sessionmaker[AsyncSession]) -> None:
    async with seeded() as session:
        first = await search(session, ConversationFilter(), limit=3)
        rest = await search(session, ConversationFilter(), limit=3, offset=3)
        exact = await search(session, ConversationFilter(), limit=4)
    assert ([row.id for row in first.rows], first.more) == (["v3", "v2", "v1"], True)
    assert ([row.id for row in rest.rows], rest.more) == (["v4"], False)
    assert exact.more is False
    v3, v2, v1 = first.rows
    assert (v1.channel, v1.state, v1.contact_id, v1.contact_name, v1.updated_at, v1.messages, v1.last_text) == (
        "web",
        "bot",
        "id-ada",
        "Ada Lovelace",
        DAY1,
        3,
        "thanks, 100% done",
    )
    assert (v2.messages, v2.last_text) == (3, LONG[:PREVIEW_CHARS])
    assert (v3.contact_name, v3.messages) == (None, 1)
    assert (v1.contact_label, v3.contact_label) == ("Ada Lovelace", "+15551234567")  # a texter by their number
    assert (rest.rows[0].messages, rest.rows[0].last_text) == (0, "")


async def test_transcript(seeded: async_sessionmaker[AsyncSession]) -> None:
    async with seeded() as session:
        shown = await transcript(session, "v1")
    assert shown is not None
    header = shown.conversation
    assert (header.id, header.channel, header.chat_id, header.thread_id, header.state, header.contact_name) == (
        "v1",
        "web",
        "w1",
        "",
        "bot",
        "Ada Lovelace",
    )
    assert (header.created_at, header.updated_at, header.summary, header.unreachable_reason) == (
        DAY1 - timedelta(hours=1),
        DAY1,
        "Asked how to reset a password.",
        None,
    )

    asked, answer, thanks = shown.messages
    assert [m.author for m in shown.messages] == ["customer", "bot", "customer"]
    assert (asked.intent, asked.polarity, asked.frustration, asked.created_at, asked.channel) == (
        "question",
        -0.25,
        0.5,
        DAY1,
        "web",
    )
    assert asked.files == [
        FileInfo("screen.png", "image/png", 1234, None),
        FileInfo("notes.pages", "application/octet-stream", 99, "I can't read .pages files."),
    ]
    assert (answer.citations, answer.reply_to, answer.feedback) == (CITED, asked.id, FeedbackInfo("up", "spot on"))
    assert (answer.declined, answer.handoff, answer.files) == (False, False, [])
    assert (thanks.citations, thanks.feedback, thanks.intent) == ([], None, None)

    assert shown.conversation.language == "en"
    assert [m.language for m in shown.messages] == ["en", "en", None]  # "thanks…" said too little to tell

    (case,) = shown.cases
    assert (case.id, case.state, case.rule, case.reason, case.owner, case.opened_at, case.closed_at) == (
        "k1",
        "human",
        "keyword",
        "asked for a person",
        "alice",
        DAY1 + timedelta(minutes=1),
        None,
    )
    assert case.events == [
        CaseEventInfo(DAY1 + timedelta(minutes=1), "bot", None, "waiting", "asked for a person", "move"),
        CaseEventInfo(DAY1 + timedelta(minutes=5), "alice", "waiting", "human", "on it", "move"),
    ]
    assert [(m.key, m.value) for m in shown.memories] == [("email", "ada@example.com")]
    assert all(isinstance(m, MemoryInfo) for m in shown.memories)


async def test_transcript_of_a_conversation_with_a_decline_and_no_memories(
    seeded: async_sessionmaker[AsyncSession],
) -> None:
    async with seeded() as session:
        shown = await transcript(session, "v3")
        declined = await transcript(session, "v2")
    assert shown is not None and declined is not None
    assert (shown.conversation.contact_name, shown.conversation.unreachable_reason) == (None, "opted out")
    assert (shown.cases, shown.memories) == ([], [])
    assert [(m.declined, m.handoff) for m in declined.messages] == [(False, False), (True, True), (False, False)]
    assert [(e.actor, e.to_state) for c in declined.cases for e in c.events] == [("bot", "waiting")]
    assert (declined.conversation.language, [c.language for c in declined.cases]) == ("de", ["de"])
    assert [m.language for m in declined.messages if m.author == "customer"] == ["en"]  # in another language


async def test_transcript_of_an_unknown_conversation(seeded: async_sessionmaker[AsyncSession]) -> None:
    async with seeded() as session:
        assert await transcript(session, "nope") is None


async def test_a_contact_is_named_by_the_best_thing_known_of_them(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker.begin() as session:
        session.add_all([Contact(id=f"c-{n}") for n in range(5)])
        await session.flush()
        session.add_all(
            [
                Identity(channel="telegram", external_user_id="777", contact_id="c-0"),  # says nothing
                Identity(channel="verified-email", external_user_id="ada@example.com", contact_id="c-1"),
                Identity(channel="email", external_user_id="old@example.com", contact_id="c-1"),
                Identity(channel="web", external_user_id="session-XYZ", contact_id="c-2"),
                Memory(contact_id="c-2", key="name", value="Grace"),
                Memory(contact_id="c-3", key="phone", value="+4915112345678"),
                Identity(channel="email", external_user_id="bob@example.com", contact_id="c-4"),
            ]
        )
    async with sessionmaker() as session:
        labels = await contact_labels(session, [f"c-{n}" for n in range(5)])
    assert labels == {
        "c-0": "contact c-0",
        "c-1": "ada@example.com",
        "c-2": "Grace",
        "c-3": "+4915112345678",
        "c-4": "bob@example.com",
    }


async def test_a_conversation_from_the_command_line_is_a_test_one_marked_and_hidden_on_request(
    seeded: async_sessionmaker[AsyncSession],
) -> None:
    async with seeded.begin() as session:
        session.add(
            Conversation(id="v5", contact_id="id-ada", channel="cli", chat_id="c1", state="bot", updated_at=DAY2)
        )
    async with seeded() as session:
        rows = (await search(session, ConversationFilter(contact="ada"))).rows
    assert [(row.id, row.is_test) for row in rows] == [("v5", True), ("v2", False), ("v1", False)]
    assert await found(seeded, ConversationFilter(contact="ada", tests=False)) == ["v2", "v1"]
