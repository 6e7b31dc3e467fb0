"""Reading Teams' activities (as the Teams fake builds them, after Microsoft's documented shapes)
and writing replies, without the network: who is asked where, what the text is, which files
count; Teams markdown with tables as lists and our text escaped; the survey's card; what a
conversation's reference keeps; the settings' one-line refusals."""

from __future__ import annotations

from typing import Any

import pytest
from microsoft_agents.activity import Activity
from pydantic import SecretStr, ValidationError

from channels.teams.activities import read_message
from channels.teams.conversations import KeptReference
from channels.teams.format import MAX_TEXT, survey_card, teams_parts
from channels.teams.hosts import allowed
from channels.teams.settings import TeamsSettings
from channels.teams.stand_in import (
    APP_ID,
    BOT_ID,
    COLLEAGUE_AAD,
    COLLEAGUE_NAME,
    CUSTOMER_AAD,
    CUSTOMER_NAME,
    CUSTOMERS_TENANT,
    PERSONAL_CONVERSATION,
    TEAM_CHANNEL,
    FakeTeams,
)
from core.messages import Citation

TEAMS = FakeTeams()  # never started: its builders only need a service URL
TEAMS.url = "https://smba.trafficmanager.net"
DEFAULT_HOSTS = TeamsSettings().service_url_hosts


def read(activity: dict[str, Any]) -> Any:
    return read_message(Activity.model_validate(activity))


def test_a_personal_message_is_the_customers_by_their_entra_object_id() -> None:
    incoming = read(TEAMS.personal_message("How do I reset my password?", locale="de-DE"))
    assert incoming is not None and incoming.personal
    assert (incoming.conversation_id, incoming.sender, incoming.sender_name) == (
        PERSONAL_CONVERSATION,
        CUSTOMER_AAD,
        CUSTOMER_NAME,
    )
    assert (incoming.text, incoming.language, incoming.survey, incoming.files) == (
        "How do I reset my password?",
        "de",
        None,
        (),
    )


def test_in_a_channel_or_group_chat_only_a_mention_counts_and_it_leaves_the_text() -> None:
    assert read(TEAMS.channel_message("lunch anyone?", mention=False)) is None
    assert read(TEAMS.group_message("lunch anyone?", mention=False)) is None
    asked = TEAMS.channel_message("can <at>Grace Hopper</at> get access?", post_id="17")
    incoming = read(asked)
    assert incoming.text == "can @Grace Hopper get access?"
    assert incoming.conversation_id == f"{TEAM_CHANNEL};messageid=17" and incoming.conversation_type == "channel"


@pytest.mark.parametrize(
    "changed",
    [
        {"channelId": "webchat"},
        {"type": "conversationUpdate"},
        {"from": {"id": "28:another-bot", "name": "Other bot", "role": "bot"}},
        {"text": "   "},
    ],
    ids=["another-channel", "not-a-message", "a-bot", "empty"],
)
def test_what_is_not_a_customers_message_is_left(changed: dict[str, Any]) -> None:
    assert read(TEAMS.personal_message("hello") | changed) is None


def test_a_card_press_is_a_survey_value_even_without_a_mention() -> None:
    pressed = TEAMS.group_message("", mention=False, sender=(COLLEAGUE_AAD, COLLEAGUE_NAME))
    incoming = read(pressed | {"value": {"survey": "41:4"}, "text": None})
    assert (incoming.survey, incoming.text, incoming.sender) == ("41:4", "", COLLEAGUE_AAD)
    assert read(TEAMS.card_submit({"something": "else"})) is None


def test_files_count_in_a_personal_chat_only_and_html_renderings_never() -> None:
    message = TEAMS.file_message("https://contoso-my.sharepoint.com/personal/x/download.aspx?tempauth=t", "a.pdf")
    message["attachments"].append({"contentType": "text/html", "content": "<p>hi</p>"})
    (file,) = read(message).files
    assert (file.name, file.url) == ("a.pdf", "https://contoso-my.sharepoint.com/personal/x/download.aspx?tempauth=t")
    in_channel = TEAMS.channel_message("see attached") | {"attachments": message["attachments"]}
    assert read(in_channel).files == ()


def test_a_reply_is_teams_markdown_with_a_table_as_a_list_and_our_text_escaped() -> None:
    reply = (
        "## Plans\n\nPick **Pro** or *Business* (a_b, 2*3, <at>x</at>): [pricing](https://help.example/pricing).\n\n"
        "| Plan | Monthly | Annual |\n|---|---|---|\n| Pro | $12 | $10 |\n| Business | $30 | $25 |\n\n1. one\n2. two"
    )
    (part,) = teams_parts(reply, [Citation("kb", "Pricing", "", 1.0, url="https://help.example/pricing")])
    assert part == (
        "**Plans**\n\n"
        "Pick **Pro** or _Business_ (a\\_b, 2\\*3, \\<at\\>x\\</at\\>): [pricing](https://help.example/pricing).\n\n"
        "- Pro: Monthly $12; Annual $10.\n- Business: Monthly $30; Annual $25.\n\n"
        "1. one\n2. two\n\n"
        "Source: Pricing (https://help.example/pricing)"
    )


def test_a_long_reply_is_split_under_teams_limit() -> None:
    paragraphs = "\n\n".join(f"Paragraph {n}: " + "word " * 400 for n in range(30))
    parts = teams_parts(paragraphs)
    assert len(parts) > 1 and all(len(part) <= MAX_TEXT for part in parts)


def test_the_survey_card_carries_each_score_in_its_buttons_data() -> None:
    card = survey_card("How did we do? **1** (bad) to 5_", 41)
    assert card["type"] == "AdaptiveCard" and card["body"][0]["text"] == "How did we do? 1 (bad) to 5_"
    assert [(action["type"], action["title"], action["data"]) for action in card["actions"]][::4] == [
        ("Action.Submit", "1 (bad)", {"survey": "41:1"}),
        ("Action.Submit", "5 (great)", {"survey": "41:5"}),
    ]


def test_a_kept_reference_fits_a_value_and_continues_without_an_activity_id() -> None:
    activity = Activity.model_validate(
        TEAMS.personal_message("hi", service_url=f"https://smba.trafficmanager.net/amer/{CUSTOMERS_TENANT}/")
    )
    kept = KeptReference.of(activity)
    assert len(kept.value()) <= 255 and KeptReference.from_value(kept.value()) == kept
    continuation = kept.continuation(PERSONAL_CONVERSATION)
    assert continuation.id is None and continuation.conversation.id == PERSONAL_CONVERSATION
    assert continuation.recipient is not None and continuation.recipient.id == BOT_ID
    assert continuation.service_url == activity.service_url
    assert KeptReference.from_value("not json") is None and KeptReference.from_value("[1, 2, 3, 4]") is None


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://smba.trafficmanager.net/amer/", True),
        ("https://europe.webchat.botframework.com/", True),
        ("https://smba.trafficmanager.net.evil.example/amer/", False),
        ("http://smba.trafficmanager.net/amer/", False),
        ("https://user@smba.trafficmanager.net/", False),
        ("https://notbotframework.com/", False),
    ],
)
def test_only_teams_hosts_are_called_by_default(url: str, ok: bool) -> None:
    assert allowed(url, DEFAULT_HOSTS) is ok


def test_plain_http_only_on_loopback() -> None:
    assert allowed("http://127.0.0.1:8080/amer/", ["127.0.0.1"]) and not allowed("http://10.0.0.1/", ["10.0.0.1"])


@pytest.mark.parametrize(
    ("values", "said"),
    [
        ({"app_id": "my-bot"}, "'my-bot' is not a Microsoft App ID"),
        ({"tenant_id": "not a tenant"}, "'not a tenant' is not a tenant"),
        ({"login_url": "login.microsoftonline.com"}, "is not an http(s) URL"),
        ({"service_url_hosts": ["https://smba.trafficmanager.net/"]}, "is not a host name"),
    ],
)
def test_a_wrong_setting_is_refused_in_one_line(values: dict[str, Any], said: str) -> None:
    with pytest.raises(ValidationError) as refused:
        TeamsSettings(**values)
    assert said in str(refused.value)


def test_on_with_the_app_id_and_password_and_tokens_from_the_bots_tenant() -> None:
    settings = TeamsSettings(app_id=APP_ID.upper(), app_password=SecretStr("x"), tenant_id="contoso.onmicrosoft.com")
    assert settings.enabled and settings.app_id == APP_ID
    assert settings.token_url == "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
    assert TeamsSettings(app_id=APP_ID, app_password=SecretStr("x")).tenant == "botframework.com"
    assert not TeamsSettings(app_id=APP_ID).enabled
