"""The offline responder on hand-built hits: when it answers, what it quotes, what it cites."""

from __future__ import annotations

import pytest

from core.offline_responder import (
    DECLINE,
    GREETING_REPLY,
    THANKS_REPLY,
    OfflineResponder,
    match,
)
from core.settings import AnswerSettings
from knowledge.hits import Hit

RESET = "docs/reset-your-password.md"
INTRO = ("If you forgot your password, you can reset it yourself in a few minutes. "
         "You do not need to contact support.")
STEPS = """1. Go to the sign-in page.
2. Click the **Forgot password?** link under the password field.
3. Open the email and click **Choose a new password**.

Your new password must be at least 10 characters long."""
VALIDITY = "Each reset link works once and expires **60 minutes** after it was sent. Request a new one after that."


def hit(text: str, *, source: str = RESET, title: str = "Reset your password", section: str = "",
        relevance: float = 0.7, heading: float | None = None, exact: bool = False, index: int = 0,
        coverage: float | None = None) -> Hit:
    return Hit(chunk_id=f"abc-def-{index}", source=source, title=title, section=section or title, text=text,
               score=relevance + (0.3 if exact else 0.0), relevance=relevance, exact_match=exact,
               heading_relevance=heading, coverage=coverage)


def elsewhere(text: str = "Invite people from Settings > Members.", relevance: float = 0.30) -> Hit:
    """A hit from another document: what a real search returns besides the best one."""
    return hit(text, source="docs/invite.md", title="Inviting teammates", relevance=relevance, heading=0.2, index=9)


@pytest.fixture
def responder() -> OfflineResponder:
    return OfflineResponder(AnswerSettings())


def reset_hits() -> list[Hit]:
    return [
        hit(INTRO, relevance=0.61, heading=0.90, index=0),
        hit(STEPS, section="How to reset your password", relevance=0.58, heading=0.94, index=1),
        hit(VALIDITY, section="The reset link is valid for 60 minutes", relevance=0.50, heading=0.60, index=2),
        hit("Invite people from Settings > Members.", source="docs/invite.md", title="Inviting teammates",
            relevance=0.30, heading=0.2),
    ]


@pytest.mark.parametrize(("text", "expected"), [("hi", GREETING_REPLY), ("Hello there!", GREETING_REPLY),
                                                 ("thanks!", THANKS_REPLY), ("Thank you so much", THANKS_REPLY)])
def test_greetings_and_thanks_get_a_short_reply_without_search(responder: OfflineResponder, text: str,
                                                                expected: str) -> None:
    reply = responder.answer(text, [])
    assert reply.text == expected and not reply.handoff and reply.citations == ()


def test_nothing_relevant_is_declined_with_a_person_offered(responder: OfflineResponder) -> None:
    hits = [hit("Supported browsers are Chrome and Firefox.", relevance=0.12, heading=0.09)]
    reply = responder.answer("Which wine goes with salmon?", hits)
    assert reply == type(reply)(DECLINE, handoff=True)


def test_a_topical_passage_without_a_matching_question_is_declined(responder: OfflineResponder) -> None:
    # about the same app, but neither the passage nor its heading is this question
    hits = [hit("Archived mail stays in All Mail.", title="Can I see only archived mail?", relevance=0.52, heading=0.50)]
    assert responder.answer("How do I undo archiving a message?", hits).handoff


def test_a_heading_that_is_the_question_is_enough(responder: OfflineResponder) -> None:
    hits = [hit("Use ~~two tildes~~ around the text.", title="Strikethrough in GitHub markdown",
                relevance=0.45, heading=0.62, coverage=0.5), elsewhere()]
    reply = responder.answer("How can I cross out text on GitHub?", hits)
    assert not reply.handoff and "~~two tildes~~" in reply.text


def test_an_exact_token_match_is_answered_even_with_a_low_cosine(responder: OfflineResponder) -> None:
    hits = [hit('[{"code": "BD-4011", "meaning": "Card declined."}, {"code": "BD-4012", "meaning": "Seat limit reached."}]',
                source="error-codes.json", title="Error codes", relevance=0.24, heading=0.25, exact=True)]
    reply = responder.answer("what does BD-4012 mean?", hits)
    assert not reply.handoff
    assert "BD-4012" in reply.text and "Seat limit reached" in reply.text
    assert "BD-4011" not in reply.text  # the neighbouring code is no answer


def test_the_steps_are_quoted_whole_not_the_intro_alone(responder: OfflineResponder) -> None:
    reply = responder.answer("how do I reset my password?", reset_hits())
    assert "> 2. Click the **Forgot password?** link" in reply.text
    assert "> 1. Go to the sign-in page." in reply.text and "> 3. Open the email" in reply.text
    assert "You do not need to contact support" not in reply.text
    assert reply.text.index("Go to the sign-in page") < reply.text.index("Choose a new password")  # document order


def test_the_question_picks_the_section_that_answers_it(responder: OfflineResponder) -> None:
    hits = [
        hit(INTRO, relevance=0.55, heading=0.60, index=0),
        hit(STEPS, section="How to reset your password", relevance=0.50, heading=0.58, index=1),
        hit(VALIDITY, section="The reset link is valid for 60 minutes", relevance=0.82, heading=0.75, index=2),
    ]
    reply = responder.answer("how long is the reset link valid?", hits)
    assert "**60 minutes**" in reply.text
    assert "Forgot password" not in reply.text
    assert reply.citations[0].section == "The reset link is valid for 60 minutes"


def test_citations_are_the_quoted_passages_best_first(responder: OfflineResponder) -> None:
    reply = responder.answer("how do I reset my password?", reset_hits())
    sections = [c.section for c in reply.citations]
    assert sections[0] == "How to reset your password"  # the best match by its heading
    assert all(c.source == RESET for c in reply.citations)  # the unrelated hit is not cited
    assert len(set(sections)) == len(sections)  # a section is cited once


def test_the_quote_is_bounded_by_max_sentences() -> None:
    text = " ".join(f"Password rule number {i} is important." for i in range(10))
    reply = OfflineResponder(AnswerSettings(max_sentences=2)).answer("password rules?", [hit(text)])
    assert reply.text.count("\n> ") == 2


def test_the_heading_cosine_reorders_the_documents(responder: OfflineResponder) -> None:
    general = hit("Gmail keeps every message.", source="a.md", title="How much storage does Gmail have?",
                  relevance=0.62, heading=0.40)
    exact = hit("Search for in:anywhere -in:inbox.", source="b.md", title="Can I see only archived mail in Gmail?",
                relevance=0.58, heading=0.85)
    reply = responder.answer("show me only my archived gmail", [general, exact])
    assert reply.citations[0].source == "b.md"
    assert match(exact) == 0.85


@pytest.mark.parametrize(
    "question", ["thanks, but how do I cancel my subscription", "thank you can I get a refund", "thx why is sync slow"]
)
def test_a_question_after_thanks_is_still_a_question(question: str) -> None:
    assert OfflineResponder(AnswerSettings()).answer(question, []).text != THANKS_REPLY


@pytest.mark.parametrize("thanks", ["thanks", "Thank you so much!", "thanks for the help.", "cheers"])
def test_plain_thanks_is_acknowledged(thanks: str) -> None:
    assert OfflineResponder(AnswerSettings()).answer(thanks, []).text == THANKS_REPLY
