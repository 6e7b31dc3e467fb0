"""The REST channel end to end: real app, real index of the sample help centre, SQLite."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from channels.api.settings import ApiSettings
from core.cli.server import RUNTIME, create_app
from core.settings import Settings
from tests.app_client import AppClient
from tests.fakes.dense_store import LoopGuardedDenseStore


async def ask(client: AppClient, text: str, *, contact: str = "alice@example.com", **extra: Any) -> dict[str, Any]:
    response = await client.post("/api/messages", json={"contact": contact, "text": text, **extra})
    assert response.status == 200, await response.text()
    return await response.json()  # type: ignore[no-any-return]


async def test_a_question_gets_a_cited_answer_from_the_help_centre(client: AppClient) -> None:
    body = await ask(client, "how do I reset my password?")
    reply = body["reply"]
    assert reply["handoff"] is False
    assert "reset" in reply["text"].lower() and "password" in reply["text"].lower()
    assert reply["citations"][0]["source"].endswith("reset-your-password.md")
    assert set(reply["citations"][0]) == {"source", "title", "section", "score", "url"}


async def test_an_error_code_finds_the_one_place_that_explains_it(client: AppClient) -> None:
    reply = (await ask(client, "I keep getting BD-4012, what now?"))["reply"]
    assert "BD-4012" in reply["text"] and "Seat limit reached" in reply["text"]
    assert reply["citations"][0]["source"].endswith("error-codes.json")
    assert not reply["handoff"]


async def test_an_unrelated_question_is_declined_with_a_person_offered(staffed_client: AppClient) -> None:
    reply = (await ask(staffed_client, "Which wine goes best with grilled salmon?"))["reply"]
    assert reply["handoff"] is True
    assert reply["citations"] == []
    assert "person" in reply["text"]


async def test_the_same_id_returns_the_stored_reply_not_a_second_answer(client: AppClient) -> None:
    first = await ask(client, "Can I pay by invoice?", id="client-42")
    again = await ask(client, "Can I pay by invoice?", id="client-42")
    assert again == first
    listed = await client.get(f"/api/conversations/{first['conversation_id']}/messages")
    messages = (await listed.json())["messages"]
    assert [m["author"] for m in messages] == ["customer", "bot"]


async def test_ids_are_scoped_per_contact(client: AppClient) -> None:
    alice = await ask(client, "How do I reset my password?", contact="alice", id="1")
    bob = await ask(client, "Which wine goes with salmon?", contact="bob", id="1")
    assert alice["conversation_id"] != bob["conversation_id"]
    assert bob["reply"]["handoff"] is True


async def test_messages_after_an_id_lets_a_client_pick_up_later_messages(client: AppClient) -> None:
    first = await ask(client, "How do I invite a teammate?")
    await ask(client, "How do I export my data?")
    conversation = first["conversation_id"]
    listed = await (await client.get(f"/api/conversations/{conversation}/messages")).json()
    ids = [m["id"] for m in listed["messages"]]
    assert len(ids) == 4 and ids == sorted(ids)
    later = await (await client.get(f"/api/conversations/{conversation}/messages?after={ids[1]}")).json()
    assert [m["id"] for m in later["messages"]] == ids[2:]
    assert later["messages"][0]["text"] == "How do I export my data?"
    assert {"author", "text", "citations", "created_at"} <= set(later["messages"][1])


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{not json", "not valid JSON"),
        ('["a list"]', "JSON object"),
        ('{"text": "hi"}', "'contact'"),
        ('{"contact": "a", "text": "   "}', "'text'"),
        ('{"contact": 5, "text": "hi"}', "'contact'"),
        ('{"contact": "a", "text": "hi", "id": 7}', "'id'"),
        ('{"contact": "a", "text": "' + "x" * 4001 + '"}', "longer than 4000"),
        ('{"contact": "' + "c" * 201 + '", "text": "hi"}', "'contact' is longer than 200"),
        ('{"contact": "a", "text": "bell \\u0007 here"}', "control characters"),
        ('{"contact": "lone \\ud800 surrogate", "text": "hi"}', "invalid unicode"),
        ('{"contact": "a\\u001fb", "text": "hi"}', "control characters"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        (b'{"contact": "a", "text": "\xff\xfe"}', "UTF-8"),
    ],
)
async def test_bad_requests_get_400_with_a_reason(client: AppClient, body: str | bytes, reason: str) -> None:
    response = await client.post("/api/messages", data=body, headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert reason in (await response.json())["error"]


async def test_unknown_conversation_and_bad_paging(client: AppClient) -> None:
    assert (await client.get("/api/conversations/nope/messages")).status == 404
    first = await ask(client, "hello")
    for after in ("abc", "-1", str(2**31)):
        bad = await client.get(f"/api/conversations/{first['conversation_id']}/messages?after={after}")
        assert bad.status == 400 and "'after'" in (await bad.json())["error"]


async def test_search_returns_hits_like_the_cli(client: AppClient) -> None:
    response = await client.get("/api/search", params={"q": "E-AUTH-019", "k": "3"})
    hits = await response.json()
    assert response.status == 200 and 1 <= len(hits) <= 3
    assert set(hits[0]) == {"source", "title", "section", "score", "relevance", "text", "url"}
    assert "E-AUTH-019" in hits[0]["text"]
    assert (await client.get("/api/search")).status == 400
    assert (await client.get("/api/search", params={"q": "x", "k": "500"})).status == 400


async def test_a_configured_token_is_required(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(api=ApiSettings(token=SecretStr("t0ken")))
    client = await aiohttp_client(create_app(settings))
    payload = {"contact": "a", "text": "How do I reset my password?"}
    missing = await client.post("/api/messages", json=payload)
    wrong = await client.post("/api/messages", json=payload, headers={"Authorization": "Bearer nope"})
    garbled = await client.post("/api/messages", json=payload, headers={"Authorization": "Bearer t0k\u00e9n"})
    assert garbled.status == 401
    right = await client.post("/api/messages", json=payload, headers={"Authorization": "Bearer t0ken"})
    assert (missing.status, wrong.status, right.status) == (401, 401, 200)
    assert (await client.get("/api/search?q=x")).status == 401


async def test_claimed_identities_link_only_on_an_authenticated_call(
    client: AppClient, trusted_client: AppClient
) -> None:
    for claim in ({"email": "victim@example.com"}, {"phone": "+4915112345678"}):
        response = await client.post("/api/messages", json={"contact": "mallory", "text": "what's my name?", **claim})
        assert response.status == 403 and "api.token" in (await response.json())["error"]
    await ask(trusted_client, "my name is Victoria", contact="crm-7", email="victim@example.com")
    later = await ask(trusted_client, "what's my name?", contact="crm-8", email="victim@example.com")
    assert later["reply"]["text"] == "Your name is Victoria."


@pytest.mark.parametrize("route", ["/api/messages", "/api/feedback"])
async def test_a_number_too_long_for_python_is_a_bad_request(client: AppClient, route: str) -> None:
    body = '{{"contact": "a", "text": "hi", "message_id": {}, "rating": "up", "n": {}}}'.format("9" * 4301, "1" * 5000)
    response = await client.post(route, data=body, headers={"Content-Type": "application/json"})
    assert response.status == 400 and "number" in (await response.json())["error"]


async def test_health_and_readiness(client: AppClient) -> None:
    assert (await client.get("/healthz")).status == 200
    ready = await client.get("/readyz")
    body = await ready.json()
    assert ready.status == 200 and body["database"] == "ok" and body["knowledge"] == "ok" and body["chunks"] > 25


async def test_a_failing_readiness_probe_says_why_once_per_change(
    client: AppClient, caplog: pytest.LogCaptureFixture
) -> None:
    down = [True]

    def refuse_while_down(conn: object, cursor: object, statement: str, *args: object) -> None:
        if down[0] and statement.strip() == "SELECT 1":
            raise OperationalError(statement, {}, Exception("connection refused"))

    event.listen(Engine, "before_cursor_execute", refuse_while_down)
    try:
        with caplog.at_level(logging.INFO, logger="core.ops.readiness"):
            first, second = await client.get("/readyz"), await client.get("/readyz")
            assert (first.status, second.status) == (503, 503)
            assert (await first.json())["database"] == "unavailable" and (await first.json())["knowledge"] == "ok"
            down[0] = False
            assert (await client.get("/readyz")).status == 200
    finally:
        event.remove(Engine, "before_cursor_execute", refuse_while_down)
    logged = [r.getMessage() for r in caplog.records if r.name == "core.ops.readiness"]
    assert len(logged) == 2 and "connection refused" in logged[0] and logged[1] == "ready again"


async def test_readiness_counts_chunks_off_the_event_loop(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chroma's count is a synchronous call (a network round trip with a Chroma server): the
    start-up log line and every probe make it in a worker thread."""
    monkeypatch.setattr("knowledge.base.DenseStore", LoopGuardedDenseStore)
    client = await aiohttp_client(create_app(make_settings()))
    ready = await client.get("/readyz")
    assert ready.status == 200 and (await ready.json())["chunks"] > 25


async def test_a_crafted_contact_and_id_cannot_collide_with_another_contacts_message(client: AppClient) -> None:
    victim = await ask(client, "How do I reset my password?", contact="victim", id="x:y")
    other = await ask(client, "Which wine goes with salmon?", contact="victim:x", id="y")
    assert other["conversation_id"] != victim["conversation_id"]
    assert other["reply"]["handoff"] is True  # its own answer, not the victim's


async def test_each_reading_of_a_question_is_searched_on_the_encode_begun_as_it_arrived(
    client: AppClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The encode starts as the message arrives (`Agent.prepare`) with what the turn will search:
    here the question alone and with the sentence before it, both taken, none encoded twice."""
    prepared = client.app[RUNTIME].knowledge.prepared
    take, taken = prepared.take, []

    def recorded(key: tuple[str, int]) -> Any:
        found = take(key)
        taken.append((key[0], found is not None))
        return found

    monkeypatch.setattr(prepared, "take", recorded)
    answer = await ask(client, "I changed my email address. How do I sign in now?")
    assert answer["reply"]["text"]
    assert sorted(taken) == [
        ("How do I sign in now?", True),
        ("I changed my email address. How do I sign in now?", True),
    ]
    assert len(prepared) == 0
