"""Several `supporthub serve` processes on one PostgreSQL database and one Chroma server, as a
team runs them behind a load balancer: real processes, killed with SIGKILL. The dashboard is on
(its token set), so a person on the staff can work the inbox on either process."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from channels.slack.stand_in_events import message_event, signed_headers
from core.admin.inbox.views import RECHECK_S
from tests.cli_runner import supporthub
from tests.fakes.chroma_server import chroma_server
from tests.integration.hub_processes import (
    AUTH,
    HubProcess,
    ThreadedSlack,
    hub_environment,
    post_until_accepted,
    reindex,
)
from tests.integration.staff_desk_steps import SLACK_SECRET, STAFF
from tests.integration.staff_steps import PASSWORD, browser, next_event
from tests.postgres import own_postgres_database, postgres_url, query
from tests.settle import until

pytestmark = pytest.mark.slow("two `supporthub serve` processes on PostgreSQL and a Chroma server")

PER_CONTACT = 12
ADMIN_TOKEN = "scale-out-admin-token"
QUESTIONS = [
    "How do I reset my password?",
    "How do I turn on two-factor authentication?",
    "How can I export my data?",
    "Which browsers are supported?",
    "How do I invite a teammate?",
    "How do I change my plan?",
]


@dataclass
class Deployment:
    a: HubProcess
    b: HubProcess
    slack: ThreadedSlack
    database_url: str
    command_env: dict[str, str]
    """The deployment's settings for a `supporthub` command run beside the processes."""

    def ensure_running(self) -> None:
        for process in (self.a, self.b):
            if not process.running:
                process.start()
        for process in (self.a, self.b):
            process.wait_ready()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    postgres_url("the scale-out tests")
    root = tmp_path_factory.mktemp("scale-out")
    with (
        own_postgres_database() as database_url,
        chroma_server(root / "chroma") as chroma_url,
        ThreadedSlack() as slack,
    ):
        env = hub_environment(
            database_url=database_url,
            chroma_url=chroma_url,
            slack_api_url=slack.fake.base_url,
            redis_url="redis://127.0.0.1:6379/0",
            per_contact=f"{PER_CONTACT}/minute",
        )
        env["SUPPORTHUB_ADMIN__TOKEN"] = ADMIN_TOKEN
        reindex(env, root / "indexer")
        a, b = HubProcess("a", root, env), HubProcess("b", root, env)
        deployment = Deployment(a, b, slack, database_url, {**env, "SUPPORTHUB_DATA_DIR": str(root / "commands")})
        deployment.ensure_running()
        try:
            yield deployment
        finally:
            a.stop()
            b.stop()


async def next_frame(ws: aiohttp.ClientWebSocketResponse, matches: Any, *, timeout: float = 30) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            frame: dict[str, Any] = json.loads((await ws.receive()).data)
            if matches(frame):
                return frame


async def case_of_message(database_url: str, message_id: int) -> str | None:
    rows = await query(
        database_url,
        "SELECT c.id FROM cases c JOIN messages m ON m.conversation_id = c.conversation_id WHERE m.id = $1",
        message_id,
    )
    return rows[0]["id"] if rows else None


async def test_a_staff_reply_taken_by_one_process_reaches_the_widget_held_by_the_other(deployment: Deployment) -> None:
    deployment.ensure_running()
    async with aiohttp.ClientSession() as http, http.ws_connect(f"{deployment.a.url}/widget/ws") as ws:
        await ws.send_json({"type": "hello", "token": None, "after": 0})
        await next_frame(ws, lambda f: f["type"] == "session")
        await ws.send_json(
            {"type": "message", "id": uuid.uuid4().hex, "text": "I am filing a chargeback for last month's invoice."}
        )
        question = await next_frame(ws, lambda f: f["type"] == "message" and f["author"] == "customer")
        await next_frame(ws, lambda f: f["type"] == "message" and f["author"] == "bot")
        case_id = await until(lambda: case_of_message(deployment.database_url, question["id"]), what="the case")
        [card] = await until(lambda: deployment.slack.cards_of(case_id), what="the case card")

        event = message_event(
            channel=STAFF,
            user="U0SAM",
            text="Hi, Sam here: I have stopped the chargeback.",
            ts=f"{time.time():.6f}",
            thread_ts=card.response["ts"],
            channel_type="channel",
        )
        body = json.dumps(event)
        async with http.post(
            f"{deployment.b.url}/slack/events", data=body, headers=signed_headers(SLACK_SECRET, body)
        ) as response:
            assert response.status == 200

        staff = await next_frame(ws, lambda f: f["type"] == "message" and f["author"] == "staff")
        assert staff["text"] == "Hi, Sam here: I have stopped the chargeback."
    assert len(deployment.slack.cards_of(case_id)) == 1


async def invited_by_command(deployment: Deployment, email: str) -> str:
    """The invitation link's path, as `supporthub staff invite` prints it for the deployment."""
    done = await asyncio.to_thread(supporthub, "staff", "invite", email, env=deployment.command_env)
    link = re.search(r"/admin/invite/[\w-]+", done.stdout)
    assert done.exit_code == 0 and link is not None, done.stdout + done.stderr
    return link.group(0)


async def test_an_invitation_from_the_dashboard_links_to_the_port_its_process_serves_on(deployment: Deployment) -> None:
    """Issue 60: `supporthub serve --port` (`PORT=18200 make run`) gave the staff page links to 8080."""
    deployment.ensure_running()
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as http,
        http.post(
            f"{deployment.b.url}/admin/staff/invite", data={"email": "una@example.com", "name": "Una", "role": "agent"}
        ) as invited,
    ):
        html = await invited.text()
    assert invited.status == 200, html
    assert re.search(rf"{re.escape(deployment.b.url)}/admin/invite/[\w-]{{40,}}", html), html


async def test_an_inbox_reply_typed_on_one_process_reaches_the_widget_held_by_the_other(
    deployment: Deployment,
) -> None:
    """The customer's widget is connected to process a; the person on the staff works the
    inbox on process b. What the customer writes wakes b's live pages through PostgreSQL's
    notifications (sooner than the pages' own recheck), and b's reply is pushed by a."""
    deployment.ensure_running()
    soon = RECHECK_S / 2  # a stream woken by its own recheck would take RECHECK_S
    link = await invited_by_command(deployment, "sam@example.com")
    async with (
        browser(deployment.b.url) as sam,
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{deployment.a.url}/widget/ws") as ws,
    ):
        joined = await sam.post(link, {"name": "Sam", "password": PASSWORD, "again": PASSWORD})
        assert (joined.status, joined.headers.get("Location")) == (303, "/admin/inbox"), await joined.text()
        await ws.send_json({"type": "hello", "token": None, "after": 0})
        await next_frame(ws, lambda f: f["type"] == "session")

        async with await sam.get("/admin/inbox/events") as queue_stream:
            assert queue_stream.status == 200 and queue_stream.headers["Content-Type"] == "text/event-stream"
            await next_event(queue_stream)
            await ws.send_json(
                {"type": "message", "id": uuid.uuid4().hex, "text": "My name is Rosa. Can I talk to a person?"}
            )
            question = await next_frame(ws, lambda f: f["type"] == "message" and f["author"] == "customer")
            changed = await next_event(queue_stream, timeout=soon)
            assert int(changed.split("-")[0]) >= question["id"]  # the queue's version: newest message, newest event
        await next_frame(ws, lambda f: f["type"] == "message" and f["author"] == "bot")
        case_id = await until(lambda: case_of_message(deployment.database_url, question["id"]), what="the case")
        page = f"/admin/inbox/{case_id}"
        assert page in await (await sam.get("/admin/inbox")).text()

        claimed = await sam.form(f"{page}/claim", page)
        assert (claimed.status, claimed.headers["Location"]) == (303, page)
        sent = await sam.form(f"{page}/reply", page, text="Hi Rosa, **Sam** here. Which invoice is it?")
        assert (sent.status, sent.headers["Location"]) == (303, page)
        staff = await next_frame(ws, lambda f: f["type"] == "message" and f["author"] == "staff")
        assert staff["text"] == "Hi Rosa, **Sam** here. Which invoice is it?"  # the widget renders the markdown

        async with await sam.get(f"{page}/events") as case_stream:
            before = await next_event(case_stream)
            await ws.send_json({"type": "message", "id": uuid.uuid4().hex, "text": "Invoice 2024-117, please."})
            follow_up = await next_frame(ws, lambda f: f["type"] == "message" and f["author"] == "customer")
            after = await next_event(case_stream, timeout=soon)
            assert before != after and int(after.split("-")[0]) >= follow_up["id"]
        assert "Invoice 2024-117, please." in await (await sam.get(page)).text()


async def first_hit(http: aiohttp.ClientSession, process: HubProcess, query: str) -> dict[str, Any]:
    async with http.get(f"{process.url}/api/search", params={"q": query, "k": "1"}) as response:
        hits: list[dict[str, Any]] = await response.json()
        return hits[0]


async def test_an_answer_approved_on_one_process_is_cited_on_the_other_and_withdrawn_from_both(
    deployment: Deployment,
) -> None:
    """A knowledge gap answered on process a is indexed by a's re-index child into the shared
    Chroma server; b, with its own data directory, follows the index version and cites it.
    Withdrawn on b, it leaves a's search too."""
    deployment.ensure_running()
    question = "Can I buy a gift card for someone else's subscription?"
    asked = "do you sell gift cards?"
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with aiohttp.ClientSession(headers=AUTH) as http:
        assert (await first_hit(http, deployment.b, asked))["title"] != "Support team answers"
        async with http.post(
            f"{deployment.a.url}/admin/gaps/answer",
            data={
                "question": question,
                "answer": "Yes: gift cards for 3, 6 or 12 months are sold at brightdesk.example/gift.",
            },
            headers=admin,
        ) as response:
            assert response.status == 200, await response.text()
            suggestion = await response.json()

        async def cited_on_b() -> bool:
            return bool((await first_hit(http, deployment.b, asked))["title"] == "Support team answers")

        await until(cited_on_b, timeout=120, what="process b to search the approved answer")
        async with http.post(f"{deployment.b.url}/api/messages", json={"contact": "np", "text": asked}) as response:
            reply = (await response.json())["reply"]
        assert "brightdesk.example/gift" in reply["text"]
        assert [(c["title"], c["section"]) for c in reply["citations"]][:1] == [("Support team answers", question)]

        async with http.post(
            f"{deployment.b.url}/admin/suggestions/{suggestion['id']}", data={"action": "withdraw"}, headers=admin
        ) as response:
            assert response.status == 200, await response.text()

        async def gone_from_a() -> bool:
            return bool((await first_hit(http, deployment.a, asked))["title"] != "Support team answers")

        await until(gone_from_a, timeout=120, what="process a to stop finding the withdrawn answer")


async def test_an_overdue_case_is_reminded_once_with_two_processes(deployment: Deployment) -> None:
    deployment.ensure_running()
    contact = f"sla-{uuid.uuid4().hex[:8]}"
    async with (
        aiohttp.ClientSession(headers=AUTH) as http,
        http.post(
            f"{deployment.b.url}/api/messages",
            json={"contact": contact, "text": "My lawyer will call you about this invoice."},
        ) as r,
    ):
        assert r.status == 200, await r.text()
        conversation_id = (await r.json())["conversation_id"]
    [case] = await query(deployment.database_url, "SELECT id FROM cases WHERE conversation_id = $1", conversation_id)
    [card] = await until(lambda: deployment.slack.cards_of(case["id"]), what="the case card")
    await query(
        deployment.database_url, "UPDATE cases SET opened_at = now() - interval '2 hours' WHERE id = $1", case["id"]
    )

    thread = card.response["ts"]
    await until(lambda: deployment.slack.in_thread(thread, "Reminder:"), what="the SLA reminder")
    await until(
        lambda: query(
            deployment.database_url, "SELECT 1 FROM cases WHERE id = $1 AND reminded_at IS NOT NULL", case["id"]
        ),
        what="the case marked reminded",
    )
    await asyncio.sleep(3)  # three more runs of the SLA job (handoff.sla_check_s = 1)
    assert len(deployment.slack.in_thread(thread, "Reminder:")) == 1
    notices = await query(
        deployment.database_url,
        "SELECT count(*) AS n FROM messages WHERE conversation_id = $1 "
        "AND author = 'bot' AND text LIKE 'Thanks for your patience%'",
        conversation_id,
    )
    assert notices[0]["n"] == 1


async def test_leadership_moves_when_the_leader_dies(deployment: Deployment) -> None:
    deployment.ensure_running()
    processes = (deployment.a, deployment.b)
    leaders = [p for p in processes if (p.readiness() or {}).get("leader")]
    assert len(leaders) == 1
    [leader] = leaders
    [follower] = [p for p in processes if p is not leader]

    leader.kill()
    started = time.monotonic()
    await until(lambda: (follower.readiness() or {}).get("leader"), timeout=15, what="the survivor to lead")
    assert time.monotonic() - started < 10

    leader.start()
    leader.wait_ready()
    assert (leader.readiness() or {}).get("leader") is False
    assert (follower.readiness() or {}).get("leader") is True


async def test_the_rate_limit_is_counted_once_across_processes(deployment: Deployment) -> None:
    deployment.ensure_running()
    contact = f"flood-{uuid.uuid4().hex[:8]}"
    statuses = []
    async with aiohttp.ClientSession(headers=AUTH) as http:
        for i in range(PER_CONTACT + 6):
            process = (deployment.a, deployment.b)[i % 2]
            async with http.post(
                f"{process.url}/api/messages", json={"contact": contact, "text": QUESTIONS[i % len(QUESTIONS)]}
            ) as response:
                statuses.append(response.status)
    assert statuses.count(429) == 6
    assert statuses[:PER_CONTACT] == [200] * PER_CONTACT


async def test_a_burst_over_both_processes_with_one_killed_midway_is_answered_once_in_order(
    deployment: Deployment,
) -> None:
    deployment.ensure_running()
    processes = [deployment.a, deployment.b]
    contacts = [f"burst-{uuid.uuid4().hex[:8]}" for _ in range(10)]
    posts: list[asyncio.Task[None]] = []

    async def conversation(http: aiohttp.ClientSession, index: int, contact: str) -> None:
        for turn, text in enumerate(QUESTIONS):
            payload = {"contact": contact, "text": text, "id": f"{contact}-{turn}"}
            # Not waiting for the answer: the next question is in flight while this one is answered.
            posts.append(asyncio.create_task(post_until_accepted(http, processes, index + turn, payload)))
            await asyncio.sleep(0.15)

    async with aiohttp.ClientSession(headers=AUTH, timeout=aiohttp.ClientTimeout(total=60)) as http:
        senders = [asyncio.create_task(conversation(http, i, c)) for i, c in enumerate(contacts)]
        await until(lambda: len(posts) >= len(contacts) * len(QUESTIONS) // 2, what="half the burst sent")
        deployment.a.kill()
        await asyncio.gather(*senders)
        await asyncio.gather(*posts)

    expected = len(contacts) * len(QUESTIONS)
    placeholders = ", ".join(f"'{c}'" for c in contacts)
    customer_messages = f"""
        SELECT m.id, m.conversation_id FROM messages m JOIN conversations c ON c.id = m.conversation_id
        WHERE c.channel = 'api' AND c.chat_id IN ({placeholders}) AND m.author = 'customer'"""
    answered = f"""
        SELECT count(*) AS n FROM ({customer_messages}) q
        WHERE EXISTS (SELECT 1 FROM messages r WHERE r.reply_to = q.id)"""

    async def stored() -> bool:
        return len(await query(deployment.database_url, customer_messages)) == expected

    async def all_answered() -> bool:
        return bool((await query(deployment.database_url, answered))[0]["n"] == expected)

    await until(stored, timeout=60, what="every message stored")
    await until(all_answered, timeout=90, what="every message answered")

    replies = await query(
        deployment.database_url,
        f"""
        SELECT q.conversation_id, q.id AS question, r.id AS reply FROM ({customer_messages}) q
        JOIN messages r ON r.reply_to = q.id ORDER BY r.id""",
    )
    assert len(replies) == expected  # one reply each: none answered twice
    by_conversation: dict[str, list[int]] = {}
    for row in replies:
        by_conversation.setdefault(row["conversation_id"], []).append(row["question"])
    assert len(by_conversation) == len(contacts)
    for questions in by_conversation.values():
        assert questions == sorted(questions)  # replies in the order the questions arrived
