"""What the hub itself writes into an SMS stays GSM-7, counted with the codec the SMS channel
bills by (`channels.sms.format.segments`, on gsm0338): one "›", "—" or "“" would make the whole
reply UCS-2, at twice the segments."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from channels.common.plain_text import plain_text
from channels.sms.format import Segments, segments, sms_body
from channels.sms.settings import SmsSettings
from core.answering.attachments import AttachmentReader
from core.answering.offline_responder import (
    DECLINE,
    GREETING_REPLY,
    NOT_FOUND,
    THANKS_REPLY,
    Asked,
    OfflineResponder,
)
from core.handoff import survey
from core.handoff.desk_store import RESOLVED_NOTICE, STILL_WITH_US
from core.handoff.reach import NO_PERSON, where_to_reach
from core.messages import Attachment, Citation
from core.pipeline.turn_runner import DECLINED_HANDOFF, HANDOFF_NOTICE, _with_problems, out_of_hours
from core.settings import AnswerSettings, AttachmentSettings, HandoffSettings, HoursSettings
from core.turn_context import AttachmentText
from knowledge.hits import Hit

ANNUAL = Hit(
    "c1",
    "refunds.md",
    "Refunds",
    "Annual plans",
    "Annual plans are refunded pro rata for the whole months left, within 9 days.",
    1.0,
    0.9,
    heading_relevance=0.8,
    lexical_rank=1,
    coverage=0.5,
)
PAYPAL = Hit("c2", "payments.md", "Payments", "PayPal", "We take PayPal for monthly plans.", 0.6, 0.6)
"""Another document naming PayPal, nearly as close to the question: the answer from ANNUAL then
says it does not mention it."""
ANNUAL_CITATION = Citation(source="refunds.md", title="Refunds", section="Annual plans", score=1.0)


def offline_answer(*questions: str) -> str:
    reply = OfflineResponder(AnswerSettings()).answer_all([Asked(q, [ANNUAL, PAYPAL]) for q in questions])
    return reply.text


def file_problems() -> list[str]:
    """What the reader tells a customer about files it refuses before converting them."""
    reader = AttachmentReader(AttachmentSettings())
    files = [
        Attachment("setup.exe", "application/octet-stream", b"MZ"),
        Attachment("notes.txt", "text/plain", b""),
        Attachment("scan_2024.pdf", "application/pdf", b"", declared_size=14_900_000),
        Attachment("invoice.pdf", "application/pdf", b"not a pdf"),
    ]
    return [problem for file in files if (problem := reader.precheck(file)) is not None]


def test_a_257_character_answer_with_a_source_line_is_two_segments_and_keeps_its_caveat() -> None:
    reply = OfflineResponder(AnswerSettings()).answer("Are annual plans refunded to PayPal?", [ANNUAL, PAYPAL])
    assert "Refunds › Annual plans" in reply.text and "It doesn't mention *PayPal*." in reply.text
    body = sms_body(reply.text, reply.citations, max_segments=2)
    assert segments(body) == Segments("GSM-7", 257, 2)
    assert body.startswith("Here's what our help centre says in Refunds > Annual plans:\n\n")
    assert body.endswith(
        "It doesn't mention PayPal. If you need help with that, I can bring in a person from our "
        "support team.\n\nSource: Refunds"
    )


FRIDAY_EVENING = datetime(2025, 10, 24, 18, 5, tzinfo=UTC)
HOLIDAYS = Hit(
    "c3",
    "opening-hours.md",
    "Opening hours and holiday closures",
    "Bank holidays",
    "We are closed on bank holidays, and the chat, the phone line and the email inbox stay closed until 09:00 on "
    "the next working day, when the team answers messages in the order they arrived. Over Christmas the office "
    "closes from 24 December to 1 January.",
    0.45,
    0.45,
    coverage=0.3,
    url="https://help.example.com/hc/en-gb/articles/360012345678-opening-hours-and-holiday-closures",
)
"""Near a question about dropping in late on a bank holiday, below the bar: a decline quotes it."""


def nearest_decline(reach: str | None = None) -> str:
    asked = [Asked("can i drop in late on a bank holiday", [HOLIDAYS])]
    reply = OfflineResponder(AnswerSettings()).answer_all(asked, reach=reach)
    assert reply.handoff and "Opening hours and holiday closures" in reply.text
    return reply.text


HUB_TEXTS = {
    "decline": DECLINE,
    "greeting": GREETING_REPLY,
    "thanks": THANKS_REPLY,
    "answer with a section": offline_answer("Are annual plans refunded to PayPal?"),
    "answers to several questions": offline_answer("Are annual plans refunded?", "Can I pay in yen?"),
    "a long question echoed": offline_answer("Are annual plans refunded?", "Can I pay " + "in yen " * 30 + "?"),
    "handoff notice": f"{offline_answer('Are annual plans refunded?')}\n\n{HANDOFF_NOTICE}",
    "declined handoff": DECLINED_HANDOFF,
    "handoff out of hours": out_of_hours(HANDOFF_NOTICE, "Monday at 09:00 CET"),
    "no desk: a person asked for": f"{NO_PERSON} {where_to_reach(HandoffSettings(), now=FRIDAY_EVENING)}",
    "no desk: a decline": f"{NOT_FOUND} {where_to_reach(HandoffSettings(), now=FRIDAY_EVENING)}",
    "a decline quoting the nearest article": nearest_decline(),
    "no desk, out of hours": where_to_reach(
        HandoffSettings(hours=HoursSettings(monday="09:00-17:00")), now=FRIDAY_EVENING
    ),
    "still with us": STILL_WITH_US,
    "resolved": RESOLVED_NOTICE,
    "survey question": survey.QUESTION,
    "survey thanks": survey.THANKS,
}


def test_a_decline_cut_short_keeps_where_to_write_before_the_nearest_article() -> None:
    reach = where_to_reach(HandoffSettings(), now=FRIDAY_EVENING)
    body = sms_body(nearest_decline(reach), max_segments=2)
    assert reach in body and "Opening hours" not in body


def test_a_cut_never_ends_on_the_line_that_introduces_the_quote() -> None:
    text = nearest_decline()
    assert "says:\n\n> We are closed on bank holidays" in text
    body = sms_body(text, max_segments=3)
    kept = body.split("\n\nMore:")[0]
    assert body != plain_text(text) and not kept.rstrip().endswith(":"), body  # cut, and not after "says:"


@pytest.mark.parametrize("text", HUB_TEXTS.values(), ids=HUB_TEXTS.keys())
def test_what_the_hub_writes_travels_as_gsm7(text: str) -> None:
    assert segments(sms_body(text, [ANNUAL_CITATION], max_segments=4)).encoding == "GSM-7"


def test_file_problems_told_by_sms_travel_as_gsm7() -> None:
    problems = file_problems()
    assert len(problems) == 4 and "is 14.3 MB, over the 10 MB limit" in problems[2]
    text = _with_problems(
        "Annual plans are refunded pro rata.",
        tuple(AttachmentText(f"file{i}", None, p) for i, p in enumerate(problems)),
    )
    assert segments(sms_body(text, max_segments=10)).encoding == "GSM-7"


def test_the_default_help_text_is_gsm7() -> None:
    assert segments(SmsSettings().help_text).encoding == "GSM-7"
