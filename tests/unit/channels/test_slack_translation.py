"""Slack's payloads to routes, and our replies to mrkdwn blocks: pure functions, on recorded
payloads (tests/fixtures/slack/)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from channels.common.survey_buttons import survey_choice
from channels.slack.channel import Route, route_event
from channels.slack.format import (
    MAX_BLOCKS,
    SECTION_LIMIT,
    answered_blocks,
    card_blocks,
    render_mrkdwn,
    reply_blocks,
    survey_buttons,
)
from channels.slack.settings import SlackSettings
from core.desk_port import CaseCard
from core.messages import Address, Author, Citation, StoredMessage
from core.quoting import literal
from tests.unit.channels.table_replies import ESCAPED_PIPE, FORMATTED_CELL, PRICING, QUOTED, RIGHT_ALIGNED

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "slack"
SETTINGS = SlackSettings(customer_channels=["C0LAN2Q65"], staff_channel="CSTAFF")


def event(name: str, **changes: Any) -> dict[str, Any]:
    payload = json.loads((FIXTURES / f"{name}.json").read_text())
    return {**payload["event"], **changes}


def test_a_direct_message_is_a_customer_question() -> None:
    routed = route_event(event("dm_message"), bot_user_id="UBOT", settings=SETTINGS)
    assert routed.route is Route.CUSTOMER
    assert routed.address == Address("slack", "D024BE91L", None)
    assert routed.text == "How do I reset my password?"


def test_a_mention_in_a_customer_channel_starts_a_thread_at_its_own_ts() -> None:
    routed = route_event(event("channel_mention"), bot_user_id="UBOT", settings=SETTINGS)
    assert routed.route is Route.CUSTOMER
    assert routed.address == Address("slack", "C0LAN2Q65", "1515449522.000016")
    assert routed.text == "can I pay by invoice?"


def test_a_thread_reply_belongs_to_the_thread_root_never_its_own_ts() -> None:
    routed = route_event(event("thread_reply"), bot_user_id="UBOT", settings=SETTINGS)
    assert routed.route is Route.FOLLOW_UP
    assert routed.address == Address("slack", "C0LAN2Q65", "1515449522.000016")


@pytest.mark.parametrize(
    ("name", "changes"),
    [
        ("bot_message", {}),
        ("dm_message", {"user": "UBOT"}),  # our own
        ("dm_message", {"bot_id": "B999"}),  # another bot posting as a user
        ("dm_message", {"subtype": "message_changed"}),
        ("channel_mention", {"channel": "CSTAFF"}),  # the staff channel is never answered
        ("channel_mention", {"channel": "CRANDOM"}),  # not a customer channel
        ("thread_reply", {"text": "no mention, top level", "thread_ts": None}),
    ],
)
def test_what_the_bot_must_not_answer(name: str, changes: dict[str, Any]) -> None:
    assert route_event(event(name, **changes), bot_user_id="UBOT", settings=SETTINGS).route is Route.IGNORE


def test_replies_render_as_mrkdwn_with_citations_as_links() -> None:
    message = StoredMessage(
        id=1,
        conversation_id="c",
        author=Author.BOT,
        text="Here's what **our help centre** says:\n\n> Open [the portal](https://x.example/p) & click <Reset>.",
        citations=(
            Citation("https://help.example/reset", "Reset your password", "Steps", 0.8),
            Citation("config/knowledge/faq.csv", "FAQ", "FAQ", 0.5),
        ),
        handoff=False,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert render_mrkdwn(message) == (
        "Here's what *our help centre* says:\n\n> Open <https://x.example/p|the portal> &amp; click &lt;Reset&gt;."
        "\n\n*Sources:* <https://help.example/reset|Reset your password › Steps> · _FAQ_"
    )


def test_a_quoted_file_name_stays_text_in_mrkdwn() -> None:
    name = literal("[click me](https://evil.example/phish)\u202e.txt")
    message = StoredMessage(
        id=1,
        conversation_id="c",
        author=Author.BOT,
        text=f"I've read {name}. See [the guide](https://help.example/g).",
        citations=(),
        handoff=False,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert render_mrkdwn(message) == (
        "I've read [click me](https://evil.example/phish).txt. See <https://help.example/g|the guide>."
    )


def bot_message(text: str) -> StoredMessage:
    return StoredMessage(
        id=1,
        conversation_id="c",
        author=Author.BOT,
        text=text,
        citations=(),
        handoff=False,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        (
            PRICING,
            "Here's what our help centre says in *Pricing*:\n\n"
            "```\n"
            "Plan     | Monthly billing        | Annual billing\n"
            "---------+------------------------+-----------------------\n"
            "Business | $20 per seat per month | $16 per seat per month\n"
            "Pro      | $12 per seat per month | $10 per seat per month\n"
            "```",
        ),
        (
            QUOTED,
            "From *Pricing*:\n\n"
            "> ```\n"
            "> Plan     | Monthly billing\n"
            "> ---------+----------------\n"
            "> Business | $20 per seat\n"
            "> ```\n\n"
            "Anything else?",
        ),
        (FORMATTED_CELL, "```\nPlan | Details\n-----+-----------------\nPro  | All of the guide\n```"),
        (ESCAPED_PIPE, "```\nPlan       | Seats\n-----------+-------\nTeam | Pro | 5 &amp; up\n```"),
        (RIGHT_ALIGNED, "```\nPlan       |  Price\n-----------+-------\nBasic      |     $5\nEnterprise | $1,200\n```"),
    ],
)
def test_a_table_becomes_aligned_columns_in_a_code_block(markdown: str, expected: str) -> None:
    assert render_mrkdwn(bot_message(markdown)) == expected


def test_a_table_in_code_stays_code_and_crlf_breaks_render_as_lf() -> None:
    text = (
        "**Before** & [a link](https://x.example)\r\n\r\n| a | b |\r\n|---|---|\r\n| 1 | 2 |\r\n\r\n"
        "```\n| not | a table |\n|---|---|\n```\n# After"
    )
    assert render_mrkdwn(bot_message(text)) == (
        "*Before* &amp; <https://x.example|a link>\n\n```\na | b\n--+--\n1 | 2\n```\n\n"
        "```\n| not | a table |\n|---|---|\n```\n\n*After*"
    )


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("Steps:\n\n- Open **Settings**\n- Click *Export*", "Steps:\n\n• Open *Settings*\n• Click _Export_"),
        ("3. Third\n4. Fourth\n   - nested", "3. Third\n4. Fourth\n   • nested"),
        ("[click](javascript:alert(1)) and <javascript:alert(1)>", "click and javascript:alert(1)"),
        ("Ask <@U0ADMIN> or <!channel>", "Ask &lt;@U0ADMIN&gt; or &lt;!channel&gt;"),
        ("Use `a <b> & c`", "Use `a &lt;b&gt; &amp; c`"),
        ("## **Billing** questions", "*Billing questions*"),
        ("Mail <help@example.com>", "Mail <mailto:help@example.com|help@example.com>"),
    ],
)
def test_markdown_renders_as_mrkdwn_with_nothing_slack_would_read_as_a_mention(markdown: str, expected: str) -> None:
    assert render_mrkdwn(bot_message(markdown)) == expected


def test_long_replies_split_at_slacks_limits_on_word_boundaries() -> None:
    text = " ".join(f"word{i}" for i in range(2000))  # ~17,000 characters
    blocks = reply_blocks(text)
    pieces = [b["text"]["text"] for b in blocks]
    assert len(blocks) > 1 and all(len(p) <= SECTION_LIMIT for p in pieces)
    assert " ".join(pieces).split() == text.split()
    huge = reply_blocks("x " * (SECTION_LIMIT * MAX_BLOCKS))
    assert len(huge) == MAX_BLOCKS and "too long" in huge[-1]["text"]["text"]


def test_a_reply_in_a_staff_thread_goes_to_the_desk_with_its_case_thread() -> None:
    reply = event("thread_reply", channel="CSTAFF", text="Hi, I've refunded you.")
    routed = route_event(reply, bot_user_id="UBOT", settings=SETTINGS)
    assert routed.route is Route.STAFF
    assert routed.address == Address("slack", "CSTAFF", "1515449522.000016") and routed.text == "Hi, I've refunded you."


def test_a_case_card_has_who_why_the_transcript_and_three_buttons() -> None:
    card = CaseCard(
        case_id="k1",
        state="waiting",
        channel="web",
        customer="Ann <ann@x>",
        reason="Frustration 0.82",
        frustration=0.82,
        owner=None,
        last_messages=(("customer", "STILL broken!!!"), ("bot", "Sorry")),
        suggestion="Try clearing the cache.",
    )
    blocks = card_blocks(card)
    text = json.dumps(blocks)
    assert "Ann &lt;ann@x&gt;" in text and "0.82" in text and "*customer:* STILL broken!!!" in text
    assert "*Suggested reply:* Try clearing the cache." in text
    actions = next(b for b in blocks if b["type"] == "actions")["elements"]
    assert [(a["action_id"], a["value"]) for a in actions] == [
        ("case_claim", "k1"),
        ("case_resolve", "k1"),
        ("case_return", "k1"),
    ]


def test_a_case_card_opens_with_the_question_the_bots_answer_and_what_is_known() -> None:
    card = CaseCard(
        case_id="k2",
        state="waiting",
        channel="sms",
        customer="+15551234567",
        reason="The customer asked for a person.",
        frustration=None,
        owner=None,
        last_messages=(
            ("customer", "Can I get a refund?"),
            ("bot", "Here's what our help centre says in **Refunds**:"),
        ),
        question="Can I get a refund <after> 2 weeks?",
        answered="Here's what our help centre says in **Refunds**:\n\n> Refunds take 5 days.",
        facts=(("name", "Ada"), ("plan", "Business")),
    )
    text = json.dumps(card_blocks(card))
    assert "*Asked:* Can I get a refund &lt;after&gt; 2 weeks?" in text
    assert "*The bot answered:* Here's what our help centre says in *Refunds*:" in text  # mrkdwn, not **
    assert "*Known:* name: Ada; plan: Business" in text
    assert "**" not in text


def test_slacks_escaping_is_undone_for_what_customers_and_staff_wrote() -> None:
    question = event("dm_message", text="is 2 &lt; 3 &amp; what about &gt;?")
    assert route_event(question, bot_user_id="UBOT", settings=SETTINGS).text == "is 2 < 3 & what about >?"
    staff = event("thread_reply", channel="CSTAFF", text="Refund &amp; apology sent")
    assert route_event(staff, bot_user_id="UBOT", settings=SETTINGS).text == "Refund & apology sent"


def test_the_survey_scale_names_its_question_and_score_in_each_button() -> None:
    actions = survey_buttons(41)
    assert actions["block_id"] == "survey"
    assert [(b["action_id"], b["text"]["text"], b["value"]) for b in actions["elements"]] == [
        ("survey_1", "1 (bad)", "41:1"),
        ("survey_2", "2", "41:2"),
        ("survey_3", "3", "41:3"),
        ("survey_4", "4", "41:4"),
        ("survey_5", "5 (great)", "41:5"),
    ]
    assert survey_choice("41:4") == (41, 4)


@pytest.mark.parametrize(
    "value", [None, 4, "", "41", "41:6", "41:0", "x:4", "41:4:1", "-1:4", "0:4", "99999999999:4", "４１:4"]
)
def test_a_survey_value_not_ours_is_no_choice(value: object) -> None:
    assert survey_choice(value) is None


def test_an_answered_survey_keeps_its_question_and_loses_its_buttons() -> None:
    posted = [*reply_blocks("How did we do?"), survey_buttons(41)]
    assert answered_blocks(posted, "Thank you <3") == [
        posted[0],
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Thank you &lt;3"}]},
    ]
    assert answered_blocks(None, "Thanks") is None and answered_blocks(["x"], "Thanks") is None
