"""Microsoft Teams end to end (named so beside test_teams.py, which is about staff teams): the real
app and the real Microsoft 365 Agents SDK, activities signed with a test RSA key the way the Bot
Framework signs them, and every token request, Bot Connector call and file download recorded by a
local fake of Teams' side (`channels.teams.stand_in`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy import select

from channels.slack.stand_in import FakeSlack
from channels.teams import TeamsChannel
from channels.teams.settings import TeamsSettings
from channels.teams.stand_in import (
    APP_ID,
    APP_PASSWORD,
    BOT_CONNECTOR_SCOPE,
    COLLEAGUE_AAD,
    COLLEAGUE_NAME,
    CUSTOMER_AAD,
    CUSTOMER_NAME,
    GROUP_CHAT,
    PERSONAL_CONVERSATION,
    TEAM_CHANNEL,
    TENANT_ID,
    FakeTeams,
)
from core.cli.server import RUNTIME, create_app
from core.pipeline.hub_gate import HubGate
from core.settings import AdminSettings, OutboxSettings, Settings
from core.store.case_tables import CaseRating
from core.store.db import AttachmentRow, Conversation, Identity, Message, OutboxItem
from tests.app_client import AppClient
from tests.integration.app_db import count
from tests.integration.staff_desk_steps import desk_settings, staff_replies
from tests.integration.staff_steps import on_staff
from tests.settle import settled, until

TOKEN = "dashboard-token-of-the-lead"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
ASK_FOR_PERSON = "I want to talk to a human please"


def teams_settings(fake: FakeTeams, **more: Any) -> TeamsSettings:
    return TeamsSettings(
        app_id=APP_ID,
        app_password=SecretStr(APP_PASSWORD),
        tenant_id=TENANT_ID,
        login_url=fake.url,
        openid_metadata_url=fake.openid_metadata_url,
        service_url_hosts=["127.0.0.1"],
        file_hosts=["127.0.0.1"],
        **more,
    )


@pytest.fixture
def settings_for(make_settings: Callable[..., Settings], teams: FakeTeams) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        return make_settings(
            teams=teams_settings(teams),
            admin=AdminSettings(token=SecretStr(TOKEN)),
            outbox=OutboxSettings(poll_interval_s=0.2, backoff_base_s=0.2),
            **overrides,
        )

    return make


@pytest.fixture
async def client(aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings]) -> AppClient:
    client: AppClient = await aiohttp_client(create_app(settings_for()))
    await on_staff(client.app)  # the inbox takes cases
    return client


async def teams_posts(client: AppClient, teams: FakeTeams, activity: dict[str, Any], **token: Any) -> int:
    """The Bot Framework delivering `activity` to the hub with a token (`forged`, `expires_in`… as asked)."""
    return (await client.post("/teams/messages", json=activity, headers=teams.signed_headers(activity, **token))).status


async def case_id(client: AppClient) -> str:
    async def queue() -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = await (await client.get("/admin/api/inbox", headers=BEARER)).json()
        return listed

    return str((await until(queue, what="the case in the inbox"))[0]["case"]["id"])


async def inbox_reply(client: AppClient, case: str, text: str) -> None:
    sent = await client.post(f"/admin/inbox/{case}/reply", data={"text": text}, headers=BEARER, allow_redirects=False)
    assert sent.status == 303


def texts(sent: list[dict[str, Any]]) -> list[str]:
    return [str(activity.get("text", "")) for activity in sent]


async def test_a_personal_chat_question_is_answered_in_markdown_with_sources_while_typing(
    client: AppClient, teams: FakeTeams
) -> None:
    assert await teams_posts(client, teams, teams.personal_message("How do I reset my password?")) == 202
    (answer,) = await teams.wait_for_sent(1)
    assert answer["textFormat"] == "markdown" and "password" in answer["text"].lower() and "Source" in answer["text"]
    (call,) = [call for call in teams.calls if call.body is answer]
    assert call.path == f"/amer/v3/conversations/{PERSONAL_CONVERSATION}/activities" and call.authorized
    assert [activity["type"] for activity in teams.typing] == ["typing"]
    assert {(request.tenant, request.client_id, request.scope) for request in teams.token_requests} == {
        (TENANT_ID, APP_ID, BOT_CONNECTOR_SCOPE)
    }
    assert len(teams.token_requests) == 1  # kept for the hour it lasts
    assert await count(client, Identity, Identity.external_user_id == CUSTOMER_AAD) == 1
    async with client.app[RUNTIME].sessionmaker() as session:
        assert (await session.execute(select(Message.text))).scalars().first() == "How do I reset my password?"


@pytest.mark.parametrize(
    "token",
    [
        pytest.param({"forged": True}, id="forged"),
        pytest.param({"expires_in": -600}, id="expired"),
        pytest.param({"audience": "another-bot"}, id="another-bot"),
        pytest.param({"service_url": "https://smba.trafficmanager.net/emea/"}, id="another-service-url"),
    ],
)
async def test_a_request_without_the_bot_frameworks_token_is_401_and_nothing_is_stored(
    client: AppClient, teams: FakeTeams, token: dict[str, Any]
) -> None:
    activity = teams.personal_message("How do I reset my password?")
    assert await teams_posts(client, teams, activity, **token) == 401
    assert (await client.post("/teams/messages", json=activity)).status == 401  # no token at all
    assert await count(client, Message) == 0 and teams.sent == [] and teams.token_requests == []


async def test_a_body_that_is_not_an_activity_is_400(client: AppClient, teams: FakeTeams) -> None:
    headers = teams.signed_headers({"serviceUrl": teams.service_url()})
    for body in (b"not json", b"[]", b'{"type": "message"}'):
        assert (await client.post("/teams/messages", data=body, headers=headers)).status == 400
    assert await count(client, Message) == 0


async def test_a_redelivered_activity_is_answered_once(client: AppClient, teams: FakeTeams) -> None:
    again = teams.personal_message("How do I export my data?", activity_id="1700000000555")
    for _ in range(3):  # Teams delivers it again when our 202 was late
        assert await teams_posts(client, teams, again) == 202
    assert await teams_posts(client, teams, teams.personal_message("How do I reset my password?")) == 202
    await teams.wait_for_sent(2)
    await settled(client.app[RUNTIME].sessionmaker)
    assert len(teams.sent) == 2 and await count(client, Message, Message.author == "customer") == 2


async def test_in_a_channel_or_group_chat_only_a_mention_is_answered_without_the_mention(
    client: AppClient, teams: FakeTeams
) -> None:
    assert await teams_posts(client, teams, teams.channel_message("lunch anyone?", mention=False)) == 202
    assert await teams_posts(client, teams, teams.group_message("see you at 3", mention=False)) == 202
    asked = teams.channel_message("How do I reset my password?", post_id="1700000000200")
    assert await teams_posts(client, teams, asked) == 202
    (answer,) = await teams.wait_for_sent(1)
    assert "password" in answer["text"].lower()
    (call,) = [call for call in teams.calls if call.body is answer]
    assert call.conversation_id == f"{TEAM_CHANNEL};messageid=1700000000200"  # in the post's thread
    assert teams.typing == []  # none under a channel post
    async with client.app[RUNTIME].sessionmaker() as session:
        asked_texts = await session.execute(select(Message.text).where(Message.author == "customer"))
    assert asked_texts.scalars().all() == ["How do I reset my password?"]
    assert await teams_posts(client, teams, teams.group_message("How do I export my data?")) == 202
    second = (await teams.wait_for_sent(2))[1]
    assert [call.conversation_id for call in teams.calls if call.body is second] == [GROUP_CHAT]


async def test_staff_replies_from_slack_and_the_inbox_reach_the_customer(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], teams: FakeTeams, slack: FakeSlack
) -> None:
    client: AppClient = await aiohttp_client(create_app(settings_for(slack=desk_settings(slack))))
    assert await teams_posts(client, teams, teams.personal_message(ASK_FOR_PERSON)) == 202
    (offer,) = await teams.wait_for_sent(1)
    assert "person" in offer["text"]
    card = await staff_replies(client, slack, "Hi, Sam here. I've reset it for you.", ts="1700000200.000100")
    assert CUSTOMER_NAME in str(card.body)  # staff know the customer by their Teams name
    assert texts(await teams.wait_for_sent(2))[1] == "Hi, Sam here. I've reset it for you."
    await inbox_reply(client, await case_id(client), "Anything else I can do?")
    assert texts(await teams.wait_for_sent(3))[2] == "Anything else I can do?"


async def test_a_late_reply_is_a_proactive_message_where_the_latest_activity_said(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], teams: FakeTeams
) -> None:
    first = await aiohttp_client(create_app(settings_for()))
    await on_staff(first.app)
    assert await teams_posts(first, teams, teams.personal_message(ASK_FOR_PERSON)) == 202
    await teams.wait_for_sent(1)
    moved = teams.personal_message("Are you there?", service_url=teams.service_url("emea"))
    assert await teams_posts(first, teams, moved) == 202  # Teams moved the conversation to another region
    case = await case_id(first)
    await first.close()  # every turn is over, the process gone: only the hub's database remembers
    later = await aiohttp_client(create_app(settings_for()))
    await inbox_reply(later, case, "Your refund was approved today.")
    late = (await teams.wait_for_sent(2))[-1]
    assert late["text"] == "Your refund was approved today." and "replyToId" not in late
    (call,) = [call for call in teams.calls if call.body is late]
    assert call.path == f"/emea/v3/conversations/{PERSONAL_CONVERSATION}/activities" and call.reply_to_id is None


async def test_the_survey_is_an_adaptive_card_and_a_press_is_kept_and_thanked_once(
    client: AppClient, teams: FakeTeams
) -> None:
    assert await teams_posts(client, teams, teams.personal_message(ASK_FOR_PERSON)) == 202
    await teams.wait_for_sent(1)
    case = await case_id(client)
    assert (await client.post(f"/admin/inbox/{case}/resolve", headers=BEARER, allow_redirects=False)).status == 303
    question = await until(
        lambda: next((activity for activity in teams.sent if activity.get("attachments")), None), what="the survey"
    )
    (attachment,) = question["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["content"]["body"][0]["text"].startswith("How did we do?")
    buttons = attachment["content"]["actions"]
    assert [button["title"] for button in buttons] == ["1 (bad)", "2", "3", "4", "5 (great)"]
    assert {button["type"] for button in buttons} == {"Action.Submit"}
    press = teams.card_submit(buttons[4]["data"], activity_id="1700000000777")
    for _ in range(2):  # Teams delivers the press again
        assert await teams_posts(client, teams, press) == 202
    thanks = [activity for activity in teams.sent if activity.get("text") == "Thank you for your rating: 5 of 5."]
    assert len(thanks) == 1  # said in the turn itself, once
    again = teams.card_submit(buttons[2]["data"])
    assert await teams_posts(client, teams, again) == 202
    assert texts(teams.sent)[-1] == "This survey is closed."
    async with client.app[RUNTIME].sessionmaker() as session:
        assert (await session.execute(select(CaseRating.score))).scalars().all() == [5]


async def test_in_a_group_chat_only_the_customer_who_asked_answers_the_survey(
    client: AppClient, teams: FakeTeams
) -> None:
    assert await teams_posts(client, teams, teams.group_message(ASK_FOR_PERSON)) == 202
    await teams.wait_for_sent(1)
    case = await case_id(client)
    assert (await client.post(f"/admin/inbox/{case}/resolve", headers=BEARER, allow_redirects=False)).status == 303
    question = await until(
        lambda: next((activity for activity in teams.sent if activity.get("attachments")), None), what="the survey"
    )
    data = question["attachments"][0]["content"]["actions"][0]["data"]
    stranger = teams.group_message("", mention=False, sender=(COLLEAGUE_AAD, COLLEAGUE_NAME))
    stranger |= {"value": data, "text": None}
    assert await teams_posts(client, teams, stranger) == 202
    assert texts(teams.sent)[-1] == "Only the person this survey asked can answer it."
    async with client.app[RUNTIME].sessionmaker() as session:
        given = await session.execute(select(CaseRating.score).where(CaseRating.score.is_not(None)))
    assert given.scalars().all() == []  # asked, not answered


async def test_a_file_is_fetched_from_its_download_link_without_the_bots_token(
    client: AppClient, teams: FakeTeams
) -> None:
    report = b"%PDF-1.7 the invoice that is wrong"
    url = teams.add_file(report, "invoice.pdf")
    assert await teams_posts(client, teams, teams.file_message(url, "invoice.pdf", text="This one is wrong")) == 202
    elsewhere = url.replace("127.0.0.1", "localhost")
    assert await teams_posts(client, teams, teams.file_message(elsewhere, "notes.pdf")) == 202
    sent = await teams.wait_for_sent(2)
    async with client.app[RUNTIME].sessionmaker() as session:
        files = (await session.execute(select(AttachmentRow).order_by(AttachmentRow.id))).scalars().all()
    assert (files[0].filename, files[0].content_type, files[0].size) == ("invoice.pdf", "application/pdf", len(report))
    assert [(download.authorized, download.status) for download in teams.downloads] == [(False, 200)]
    assert "notes.pdf could not be fetched from Teams" in " ".join(texts(sent))


async def test_a_conversation_the_bot_was_removed_from_is_unreachable(client: AppClient, teams: FakeTeams) -> None:
    teams.remove_bot(PERSONAL_CONVERSATION)
    assert await teams_posts(client, teams, teams.personal_message("How do I reset my password?")) == 202

    async def unreachable() -> str | None:
        async with client.app[RUNTIME].sessionmaker() as session:
            return (await session.execute(select(Conversation.unreachable_reason))).scalars().first()

    reason = await until(unreachable, what="the conversation marked unreachable")
    assert "403" in reason and "BotNotInConversationRoster" in reason
    assert teams.sent == [] and await count(client, OutboxItem, OutboxItem.status == "dead") == 1


async def test_a_throttled_reply_is_retried_and_sent_once(client: AppClient, teams: FakeTeams) -> None:
    teams.fail_next(429, code="TooManyRequests", retry_after=1)
    teams.fail_next(502, code="BadGateway")
    assert await teams_posts(client, teams, teams.personal_message("How do I reset my password?")) == 202
    (answer,) = await teams.wait_for_sent(1)
    assert "password" in answer["text"].lower()
    statuses = [call.status for call in teams.calls if call.body and call.body.get("type") == "message"]
    assert statuses == [429, 502, 201]


async def test_while_the_hub_cannot_store_teams_hears_503_with_retry_after(
    aiohttp_client: Callable[..., Any], teams: FakeTeams
) -> None:
    channel = TeamsChannel(Settings(teams=teams_settings(teams)), HubGate().port)  # a hub not running yet
    app = web.Application()
    app.add_routes(channel.routes())
    client = await aiohttp_client(app)
    answered = await client.post(
        "/teams/messages", json=(asked := teams.personal_message("Hi")), headers=teams.signed_headers(asked)
    )
    assert answered.status == 503 and answered.headers["Retry-After"].isdigit()


async def test_without_a_token_from_entra_a_message_is_503_and_not_stored(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], teams: FakeTeams
) -> None:
    wrong = teams_settings(teams).model_copy(update={"app_password": SecretStr("Wq7~an-expired-client-secret")})
    client: AppClient = await aiohttp_client(create_app(make_settings(teams=wrong)))
    answered = await client.post(
        "/teams/messages", json=(asked := teams.personal_message("Hi")), headers=teams.signed_headers(asked)
    )
    assert (answered.status, answered.headers["Retry-After"]) == (503, "30")
    assert [request.status for request in teams.token_requests] == [401]
    assert await count(client, Message) == 0
