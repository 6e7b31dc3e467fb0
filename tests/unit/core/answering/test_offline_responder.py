"""The offline responder on hand-built hits: when it answers, what it quotes, what it cites."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from core.answering.agent import ask_each
from core.answering.answer_decision import HAND_OVER_SOURCE, match
from core.answering.offline_responder import (
    DECLINE,
    GREETING_REPLY,
    IN_LANGUAGE,
    MAX_ECHO_CHARS,
    NEAREST,
    NEAREST_SAYS,
    NEAREST_SCORE,
    NOT_FOUND,
    THANKS_REPLY,
    Asked,
    OfflineResponder,
)
from core.languages import _, speaking, use_catalogs
from core.messages import Reply
from core.settings import AnswerSettings
from knowledge.conversion.json_records import json_chunks
from knowledge.hits import Hit, ScoredSentence
from knowledge.passages import units

RESET = "docs/reset-your-password.md"
INTRO = "If you forgot your password, you can reset it yourself in a few minutes. You do not need to contact support."
STEPS = """1. Go to the sign-in page.
2. Click the **Forgot password?** link under the password field.
3. Open the email and click **Choose a new password**.

Your new password must be at least 10 characters long."""
VALIDITY = "Each reset link works once and expires **60 minutes** after it was sent. Request a new one after that."


def hit(
    text: str,
    *,
    source: str = RESET,
    title: str = "Reset your password",
    section: str = "",
    relevance: float = 0.7,
    heading: float | None = None,
    exact: bool = False,
    index: int = 0,
    coverage: float | None = None,
) -> Hit:
    return Hit(
        chunk_id=f"abc-def-{index}",
        source=source,
        title=title,
        section=section or title,
        text=text,
        score=relevance + (0.3 if exact else 0.0),
        relevance=relevance,
        exact_match=exact,
        heading_relevance=heading,
        coverage=coverage,
    )


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
        hit(
            "Invite people from Settings > Members.",
            source="docs/invite.md",
            title="Inviting teammates",
            relevance=0.30,
            heading=0.2,
        ),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hi", GREETING_REPLY),
        ("Hello there!", GREETING_REPLY),
        ("thanks!", THANKS_REPLY),
        ("Thank you so much", THANKS_REPLY),
    ],
)
def test_greetings_and_thanks_get_a_short_reply_without_search(
    responder: OfflineResponder, text: str, expected: str
) -> None:
    reply = responder.answer(text, [])
    assert reply.text == expected and not reply.handoff and reply.citations == ()


def test_nothing_relevant_is_declined_with_a_person_offered(responder: OfflineResponder) -> None:
    hits = [hit("Supported browsers are Chrome and Firefox.", relevance=0.12, heading=0.09)]
    reply = responder.answer("Which wine goes with salmon?", hits)
    assert reply == type(reply)(DECLINE, handoff=True)


HOURS = dataclasses.replace(
    hit(
        "The office is open from 9am to 5pm on weekdays.",
        source="docs/opening-hours.md",
        title="Opening hours",
        relevance=0.45,
        coverage=0.3,
    ),
    url="https://help.example.com/opening-hours",
)


NEAREST_HOURS = (
    "In case it helps, the nearest article I found, **Opening hours** (https://help.example.com/opening-hours), says:"
    "\n\n> The office is open from 9am to 5pm on weekdays."
)


def test_a_decline_quotes_the_nearest_article_after_the_person_it_offers(responder: OfflineResponder) -> None:
    reply = responder.answer("can i drop in late on a bank holiday", [HOURS])
    assert reply == Reply(f"{DECLINE}\n\n{NEAREST_HOURS}", handoff=True)  # cited nothing: still a decline
    without_address = dataclasses.replace(HOURS, url="")
    assert responder.answer("can i drop in late on a bank holiday", [without_address]).text == (
        f"{DECLINE}\n\nIn case it helps, the nearest article I found, **Opening hours**, says:"
        "\n\n> The office is open from 9am to 5pm on weekdays."
    )


def test_the_nearest_article_quotes_what_an_answer_from_it_would(responder: OfflineResponder) -> None:
    # the question's row of a table and the sentence that holds its words, not the passage whole
    prices = hit(
        "Day passes are sold at the desk.\n\n| Pass | Price |\n| --- | --- |\n| Day | £6 |\n| Week | £25 |\n\n"
        "Lockers take a £1 coin.",
        source="docs/prices.md",
        title="Prices",
        relevance=0.45,
        coverage=0.3,
    )
    reply = responder.answer("how much would a week cost me", [prices])
    assert reply.handoff and reply.citations == ()
    quote = reply.text.split(_(NEAREST_SAYS, article="**Prices**"), 1)[1]
    assert "| Week | £25 |" in quote and "| Day |" not in quote and "Lockers" not in quote, reply.text


def test_a_decline_of_several_questions_says_which_one_the_quote_is_for(responder: OfflineResponder) -> None:
    far = hit("Supported browsers are Chrome and Firefox.", relevance=0.12, heading=0.09, index=1)
    asked = [Asked("which wine goes with salmon", [far]), Asked("can i drop in late on a bank holiday", [HOURS])]
    reply = responder.answer_all(asked)
    assert reply.handoff and reply.citations == ()
    assert reply.text.startswith(DECLINE) and reply.text.endswith(
        "In case it helps with “can i drop in late on a bank holiday”, the nearest article I found, "
        "**Opening hours** (https://help.example.com/opening-hours), says:"
        "\n\n> The office is open from 9am to 5pm on weekdays."
    ), reply.text


def test_questions_not_found_are_quoted_and_listed_as_the_customers_language_does(responder: OfflineResponder) -> None:
    far = hit("Supported browsers are Chrome and Firefox.", relevance=0.12, heading=0.09, index=1)
    steps = hit(STEPS, relevance=0.8, coverage=0.6, index=2)
    asked = [
        Asked("wie setze ich mein Passwort zurück", [steps]),
        Asked("welcher Wein", [far]),
        Asked("welches Bier", [far]),
    ]
    with speaking("de"):
        text = responder.answer_all(asked).text
    assert "Zu „welcher Wein“ und „welches Bier“ konnte ich in unserem Hilfe-Center nichts finden." in text, text
    assert "Zu „wie setze ich mein Passwort zurück“ steht in unserem Hilfe-Center unter **" in text, text


def test_a_catalog_without_the_several_questions_sentence_still_quotes_the_nearest_article(tmp_path: Path) -> None:
    (tmp_path / "it.po").write_text(
        f'msgid ""\nmsgstr ""\n"Language: it\\n"\n\nmsgid "{DECLINE}"\nmsgstr "Non ho trovato nulla."\n\n'
        f'msgid "{NEAREST_SAYS}"\nmsgstr "L\'articolo più vicino, {{article}}, dice:"\n\n'
        f'msgid "{IN_LANGUAGE}"\nmsgstr "Il passaggio citato qui sotto è in {{language}}."\n',
        encoding="utf-8",
    )
    far = hit("Supported browsers are Chrome and Firefox.", relevance=0.12, heading=0.09, index=1)
    use_catalogs(tmp_path)
    try:
        with speaking("it"):
            two = [Asked("quale vino", [far]), Asked("posso passare tardi?", [HOURS])]
            text = OfflineResponder(AnswerSettings()).answer_all(two).text
        assert text.startswith("Non ho trovato nulla.\n\nIl passaggio citato qui sotto è in inglese.\n\n"), text
        assert "L'articolo più vicino, **Opening hours** (https://help.example.com/opening-hours), dice:" in text, text
        assert text.endswith("> The office is open from 9am to 5pm on weekdays."), text
    finally:
        use_catalogs(None)


def test_an_article_with_no_word_to_quote_is_only_named(responder: OfflineResponder) -> None:
    rule = dataclasses.replace(HOURS, text="---", url="")
    assert responder.answer("can i drop in late on a bank holiday", [rule]).text == (
        f"{DECLINE} {_(NEAREST, article='**Opening hours**')}"
    )


def test_a_catalog_written_before_the_quote_names_the_article_in_its_language(tmp_path: Path) -> None:
    italian = "Non ho trovato nulla."
    (tmp_path / "it.po").write_text(
        f'msgid ""\nmsgstr ""\n"Language: it\\n"\n\nmsgid "{DECLINE}"\nmsgstr "{italian}"\n\n'
        f'msgid "{NEAREST}"\nmsgstr "L\'articolo più vicino è {{article}}."\n',
        encoding="utf-8",
    )
    use_catalogs(tmp_path)
    try:
        with speaking("it"):
            reply = OfflineResponder(AnswerSettings()).answer("posso passare tardi?", [HOURS])
        assert (
            reply.text
            == f"{italian} L'articolo più vicino è **Opening hours** (https://help.example.com/opening-hours)."
        )
    finally:
        use_catalogs(None)


def test_a_quote_in_another_language_says_so_before_it_is_introduced() -> None:
    german_hours = dataclasses.replace(HOURS, language="de", text="Das Büro ist werktags von 9 bis 17 Uhr geöffnet.")
    with speaking("fr"):
        text = OfflineResponder(AnswerSettings()).answer("puis-je passer tard un jour férié ?", [german_hours]).text
    note, intro = "Le passage cité ci-dessous est en allemand.", "l'article le plus proche que j'ai trouvé"
    assert note in text and intro in text and text.index(note) < text.index(intro), text
    assert text.rstrip().endswith("> Das Büro ist werktags von 9 bis 17 Uhr geöffnet."), text


def test_a_decline_with_nobody_to_come_says_where_to_write_then_the_nearest_article(
    responder: OfflineResponder,
) -> None:
    # last, so that SMS, shortening a long reply, drops the article before where to write
    reach = "You can reach our support team at help@example.com."
    reply = responder.answer_all([Asked("can i drop in late on a bank holiday", [HOURS])], reach=reach)
    assert reply.text == f"{NOT_FOUND} {reach}\n\n{NEAREST_HOURS}"


@pytest.mark.parametrize(("relevance", "named"), [(0.47, True), (0.46, False)])
def test_an_article_is_named_only_within_nearest_score_of_the_bar(
    responder: OfflineResponder, relevance: float, named: bool
) -> None:
    near = dataclasses.replace(HOURS, relevance=relevance, score=relevance, coverage=None)
    score = responder.decide([near]).score
    assert (score >= NEAREST_SCORE) is named and abs(score - NEAREST_SCORE) < 0.1  # either side of it
    reply = responder.answer("whats the weather like in berlin tomorrow", [near])
    assert reply.handoff and ("**Opening hours**" in reply.text) is named


def test_no_article_is_named_beside_a_question_kept_for_a_person(responder: OfflineResponder) -> None:
    kept = dataclasses.replace(
        hit("Refunds over 500 EUR", source=HAND_OVER_SOURCE, title="Support team answers", relevance=0.9, index=1),
        phrasing_relevance=0.9,
    )
    assert responder.answer("can i get a refund of 900 EUR", [HOURS, kept]) == Reply(DECLINE, handoff=True)
    two = [Asked("can i get a refund of 900 EUR", [kept]), Asked("can i drop in late on a bank holiday", [HOURS])]
    assert responder.answer_all(two) == Reply(DECLINE, handoff=True)


@pytest.mark.parametrize(
    "unnamed",
    [
        dataclasses.replace(HOURS, source="support-team-answers/12", title="Support team answers", url=""),
        dataclasses.replace(HOURS, title=" "),
    ],
    ids=["the team's own answer", "no title"],
)
def test_what_a_customer_cannot_open_is_not_named(responder: OfflineResponder, unnamed: Hit) -> None:
    assert responder.answer("can i drop in late on a bank holiday", [unnamed]) == Reply(DECLINE, handoff=True)


def test_a_catalog_without_the_sentence_gets_the_plain_decline_in_its_language(tmp_path: Path) -> None:
    italian = "Non ho trovato nulla al riguardo nel nostro centro assistenza e preferisco non tirare a indovinare."
    (tmp_path / "it.po").write_text(
        f'msgid ""\nmsgstr ""\n"Language: it\\n"\n\nmsgid "{DECLINE}"\nmsgstr "{italian} Vuole parlare con una persona?"\n',
        encoding="utf-8",
    )
    use_catalogs(tmp_path)
    try:
        responder = OfflineResponder(AnswerSettings())
        with speaking("it"):
            assert responder.answer("posso passare tardi?", [HOURS]).text == f"{italian} Vuole parlare con una persona?"
        with speaking("fr"):
            assert "l'article le plus proche que j'ai trouvé, **Opening hours**" in responder.answer("x", [HOURS]).text
    finally:
        use_catalogs(None)


@pytest.mark.parametrize("refused", [[NEAREST_SAYS], [NEAREST_SAYS, NEAREST]], ids=["the quote's", "both"])
def test_a_refused_translation_leaves_its_sentence_out_of_the_decline(tmp_path: Path, refused: list[str]) -> None:
    # a placeholder of its own ({artikel}) is refused and said in English: not beside German
    entries = "".join(f'msgid "{sentence}"\nmsgstr "Siehe {{artikel}}:"\n\n' for sentence in refused)
    (tmp_path / "de.po").write_text(f'msgid ""\nmsgstr ""\n"Language: de\\n"\n\n{entries}', encoding="utf-8")
    use_catalogs(tmp_path)
    try:
        with speaking("de"):
            reply = OfflineResponder(AnswerSettings()).answer("kann ich spät kommen?", [HOURS])
            named = _(NEAREST, article="**Opening hours** (https://help.example.com/opening-hours)")
            expected = _(DECLINE) if NEAREST in refused else f"{_(DECLINE)} {named}"
            assert reply.text == expected and reply.text.startswith("Dazu konnte ich"), reply.text
    finally:
        use_catalogs(None)


def test_a_topical_passage_without_a_matching_question_is_declined(responder: OfflineResponder) -> None:
    # about the same app, but neither the passage nor its heading is this question
    hits = [
        hit("Archived mail stays in All Mail.", title="Can I see only archived mail?", relevance=0.52, heading=0.50)
    ]
    assert responder.answer("How do I undo archiving a message?", hits).handoff


def test_a_heading_that_is_the_question_is_enough(responder: OfflineResponder) -> None:
    hits = [
        hit(
            "Use ~~two tildes~~ around the text.",
            title="Strikethrough in GitHub markdown",
            relevance=0.45,
            heading=0.62,
            coverage=0.5,
        ),
        elsewhere(),
    ]
    reply = responder.answer("How can I cross out text on GitHub?", hits)
    assert not reply.handoff and "~~two tildes~~" in reply.text


def test_an_exact_token_match_is_answered_even_with_a_low_cosine(responder: OfflineResponder) -> None:
    hits = [
        hit(
            '[{"code": "BD-4011", "meaning": "Card declined."}, {"code": "BD-4012", "meaning": "Seat limit reached."}]',
            source="error-codes.json",
            title="Error codes",
            relevance=0.24,
            heading=0.25,
            exact=True,
        )
    ]
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
    general = hit(
        "Gmail keeps every message.",
        source="a.md",
        title="How much storage does Gmail have?",
        relevance=0.62,
        heading=0.40,
    )
    exact = hit(
        "Search for in:anywhere -in:inbox.",
        source="b.md",
        title="Can I see only archived mail in Gmail?",
        relevance=0.58,
        heading=0.85,
    )
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


PRICING = "docs/pricing.md"
PLANS = """Our plans compare as follows:

| Plan | Price per month | Seats | Storage |
|---|---|---|---|
| Free | $0 | 3 | 1 GB |
| Pro | $12 | 25 | 100 GB |
| Business | $29 | Unlimited | 1 TB |

Prices exclude VAT."""


def pricing(text: str = PLANS, *, index: int = 0, relevance: float = 0.62) -> Hit:
    return hit(
        text,
        source=PRICING,
        title="Pricing",
        section="Plans and prices",
        relevance=relevance,
        heading=0.70,
        coverage=0.8,
        index=index,
    )


def no_flattened_table(text: str) -> bool:
    """No line mixes `|`-separated cells outside a table: every line holding " | " is a table row."""
    return all(line.startswith("|") for line in text.splitlines() if " | " in line)


def test_a_table_question_quotes_a_table_with_the_row_it_names(responder: OfflineResponder) -> None:
    reply = responder.answer("How much is the Business plan?", [pricing(), elsewhere()])
    assert not reply.handoff
    assert (
        "| Plan | Price per month | Seats | Storage |\n| --- | --- | --- | --- |\n| Business | $29 | Unlimited | 1 TB |"
    ) in reply.text
    assert "| Pro |" not in reply.text and "| Free |" not in reply.text
    assert no_flattened_table(reply.text)


def test_a_table_question_quotes_the_columns_it_names(responder: OfflineResponder) -> None:
    reply = responder.answer("How much is the Business plan per month?", [pricing(), elsewhere()])
    assert reply.text.endswith("| Plan | Price per month |\n| --- | --- |\n| Business | $29 |")
    assert no_flattened_table(reply.text)


def test_the_sentence_introducing_a_table_is_quoted_right_before_it(responder: OfflineResponder) -> None:
    browsers = """Supportdesk runs in any modern browser. We support the latest two versions of:

| Browser | Desktop | Mobile |
|---|---|---|
| Chrome | yes | yes |
| Safari | yes | yes |
| Firefox | yes | no |"""
    hits = [
        hit(browsers, source="docs/browsers.md", title="Supported browsers", relevance=0.6, heading=0.68, coverage=0.7),
        elsewhere(),
    ]
    reply = responder.answer("Does it work in Safari?", hits)
    assert reply.text == (
        "Here's what our help centre says in **Supported browsers**:\n\n"
        "> We support the latest two versions of:\n\n"
        "| Browser | Desktop | Mobile |\n| --- | --- | --- |\n| Safari | yes | yes |"
    )


def locked_out_hits(text: str) -> list[Hit]:
    """A storage company's "Locked out" section, and a hit from another document."""
    return [
        hit(text, source="docs/contact.md", title="Contact us", section="Locked out", relevance=0.6, coverage=0.6),
        elsewhere(),
    ]


def test_a_sentence_ending_in_a_colon_is_quoted_with_the_list_it_introduces(responder: OfflineResponder) -> None:
    locked_out = """If you have lost the key to your padlock, we can cut the lock off for you:

- it costs £30, paid at reception;
- bring photo ID that matches the name on your agreement.

Our staff never open a unit without you there."""
    reply = responder.answer("lost the key to my padlock, can u get me in", locked_out_hits(locked_out))
    assert reply.text == (
        "Here's what our help centre says in **Contact us › Locked out**:\n\n"
        "> If you have lost the key to your padlock, we can cut the lock off for you:\n>\n"
        "> - it costs £30, paid at reception;\n"
        "> - bring photo ID that matches the name on your agreement."
    )


def test_a_sentence_and_the_list_it_introduces_count_as_one_block() -> None:
    """Within `answer.max_sentences` the pair is one block, as a table and its lead are: it does
    not push out the next best sentence."""
    locked_out = """If you have lost the key to your padlock, we can cut the lock off for you:

- it costs £30, paid at reception;
- bring photo ID that matches the name on your agreement.

If you lost the key to a padlock of ours, a new padlock costs £8."""
    reply = OfflineResponder(AnswerSettings(max_sentences=2)).answer(
        "lost the key to my padlock, can u get me in", locked_out_hits(locked_out)
    )
    assert "> - it costs £30, paid at reception;" in reply.text
    assert "> If you lost the key to a padlock of ours, a new padlock costs £8." in reply.text


def test_a_question_for_the_cheapest_quotes_the_row_of_the_lowest_price(responder: OfflineResponder) -> None:
    units = """| Unit | Size | Per week | Per month |
|---|---|---|---|
| Small | 25 sq ft | £9.00 | £36.00 |
| Locker | 10 sq ft | £6.50 | £26.00 |
| Large | 100 sq ft | £30.00 | £120.00 |"""
    hits = [hit(units, source="docs/units.md", title="Unit sizes and prices", relevance=0.6, coverage=0.6), elsewhere()]
    reply = responder.answer("how much is your cheapest unit a week?", hits)
    assert reply.text.endswith("| Unit | Per week |\n| --- | --- |\n| Locker | £6.50 |")


async def test_a_number_the_message_states_after_its_question_picks_the_row_its_range_holds(
    responder: OfflineResponder,
) -> None:
    refunds = """| When you cancel | What we refund |
|---|---|
| More than 48 hours before departure | The full fare less a £5 fee |
| Between 48 hours and 4 hours before departure | 50% of the fare |
| Less than 4 hours before departure | Nothing |"""
    found = [hit(refunds, source="docs/cancel.md", title="Cancelling", relevance=0.62, coverage=0.5), elsewhere()]

    async def search(query: str) -> list[Hit]:
        return found

    message = "if i cancel tomorrows booking now do i get my money back? its about 20 hours till we sail"
    reply = responder.answer_all(await ask_each(message, search))
    assert reply.text.endswith(
        "| When you cancel | What we refund |\n| --- | --- |\n| Between 48 hours and 4 hours before departure | 50% of the fare |"
    )


async def test_a_number_told_without_its_unit_picks_no_row(responder: OfflineResponder) -> None:
    """ "5 years" of membership is no age: a number beside the question counts only with a unit."""
    rates = """| Rate | Age | Price per month |
|---|---|---|
| Junior | under 16 | £12 |
| Adult | 16 to 64 | £30 |
| Senior | 65 and over | £18 |"""
    found = [hit(rates, source="docs/rates.md", title="Membership rates", relevance=0.62, coverage=0.5), elsewhere()]

    async def search(query: str) -> list[Hit]:
        return found

    reply = responder.answer_all(await ask_each("I've been a member for 5 years. How much is membership?", search))
    assert "| Junior |" in reply.text and "| Adult |" in reply.text and "| Senior |" in reply.text


def test_a_table_split_across_chunks_is_quoted_as_one_table(responder: OfflineResponder) -> None:
    first = "| Plan | Price per month | Storage |\n|---|---|---|\n| Free | $0 | 1 GB |\n| Pro | $12 | 100 GB |"
    second = "| Plan | Price per month | Storage |\n|---|---|---|\n| Business | $29 | 1 TB |\n| Enterprise | Ask us | Unlimited |"
    hits = [pricing(first, index=0), pricing(second, index=1, relevance=0.58), elsewhere()]
    reply = responder.answer("How much storage do Pro and Business get?", hits)
    assert reply.text.endswith("| Plan | Storage |\n| --- | --- |\n| Pro | 100 GB |\n| Business | 1 TB |")
    assert reply.text.count("| Plan |") == 1
    assert no_flattened_table(reply.text)


INVOICES = "docs/invoices.md"
RESET_QUESTION = "how do I reset my password?"
INVOICE_QUESTION = "where do I find invoices?"


def invoice_hits() -> list[Hit]:
    return [
        hit(
            "Download any invoice from Billing > Invoices.",
            source=INVOICES,
            title="Invoices",
            relevance=0.66,
            heading=0.80,
            coverage=0.9,
        ),
        elsewhere(),
    ]


@pytest.mark.parametrize("reverse", [False, True])
def test_two_covered_questions_are_answered_each_with_its_sources(responder: OfflineResponder, reverse: bool) -> None:
    asked = [Asked(RESET_QUESTION, reset_hits()), Asked(INVOICE_QUESTION, invoice_hits())]
    asked = asked[::-1] if reverse else asked
    reply = responder.answer_all(asked)
    leads = [f"About “{one.question}”, our help centre says in" for one in asked]
    assert all(lead in reply.text for lead in leads)
    assert reply.text.index(leads[0]) < reply.text.index(leads[1])
    assert "> 2. Click the **Forgot password?** link" in reply.text
    assert "> Download any invoice from Billing > Invoices." in reply.text
    sources = list(dict.fromkeys(c.source for c in reply.citations))
    assert sources == ([INVOICES, RESET] if reverse else [RESET, INVOICES])
    assert not reply.handoff


def test_a_question_not_covered_is_named_with_a_person_offered(responder: OfflineResponder) -> None:
    unrelated = [
        hit(
            "Supported browsers are Chrome and Firefox.",
            source="docs/browsers.md",
            title="Browsers",
            relevance=0.12,
            heading=0.09,
        )
    ]
    reply = responder.answer_all([Asked(INVOICE_QUESTION, invoice_hits()), Asked("can I pay by PayPal?", unrelated)])
    assert reply.text == (
        f"About “{INVOICE_QUESTION}”, our help centre says in **Invoices**:\n\n"
        "> Download any invoice from Billing > Invoices.\n\n"
        "I couldn't find anything in our help centre about “can I pay by PayPal?”. "
        "Would you like me to bring in a person from our support team for that?"
    )
    assert [c.source for c in reply.citations] == [INVOICES]
    assert not reply.handoff


def test_no_question_covered_is_the_decline(responder: OfflineResponder) -> None:
    unrelated = [
        hit(
            "Supported browsers are Chrome and Firefox.",
            source="docs/browsers.md",
            title="Browsers",
            relevance=0.12,
            heading=0.09,
        )
    ]
    reply = responder.answer_all([Asked("can I pay by PayPal?", unrelated), Asked("Which wine goes with salmon?", [])])
    assert reply == Reply(DECLINE, handoff=True)


def test_a_word_only_another_document_holds_is_named_as_not_covered(responder: OfflineResponder) -> None:
    mobile = hit(
        "In the mobile app, tap Settings > Account.",
        source="docs/mobile.md",
        title="Mobile app",
        relevance=0.40,
        heading=0.30,
        index=5,
    )
    reply = responder.answer("How do I reset my password on mobile?", [*reset_hits()[:3], mobile])
    assert "> 2. Click the **Forgot password?** link" in reply.text
    assert reply.text.endswith(
        "\n\nIt doesn't mention *mobile*. If you need help with that, I can bring in a person from our support team."
    )
    assert all(c.source == RESET for c in reply.citations) and not reply.handoff


def test_a_word_only_a_far_document_holds_is_not_named(responder: OfflineResponder) -> None:
    """ "…on Monday": the opening hours name Monday, but they are far from the question."""
    hours = hit("We are open Monday to Friday, 07:00 to 19:00.", source="docs/hours.md", title="Hours", relevance=0.23)
    reply = responder.answer("I got locked out on Monday, how do I reset my password?", [*reset_hits()[:3], hours])
    assert "> 2. Click the **Forgot password?** link" in reply.text
    assert "It doesn't mention" not in reply.text and not reply.handoff


def test_a_common_word_is_not_named(responder: OfflineResponder) -> None:
    """ "How long does it take": *take* and *time* carry nothing of the question."""
    slow = hit("Most resets take a few minutes; allow time for the email.", source="docs/email.md", relevance=0.6)
    reply = responder.answer("How much time does it take to reset my password?", [*reset_hits()[:3], slow])
    assert "It doesn't mention" not in reply.text and not reply.handoff


def test_a_word_no_document_holds_is_not_named(responder: OfflineResponder) -> None:
    reply = responder.answer("How do I reset my password on a smartwatch?", reset_hits())
    assert "It doesn't mention" not in reply.text and not reply.handoff


def test_a_long_question_is_repeated_cut_short() -> None:
    long_question = "Can I pay for " + "many " * 60 + "seats with a gift card?"
    reply = OfflineResponder(AnswerSettings()).answer_all(
        [Asked("how do I reset my password?", reset_hits()), Asked(long_question, [])]
    )
    echoed = reply.text.split("about “", 1)[1].split("”", 1)[0]
    assert len(echoed) <= MAX_ECHO_CHARS and echoed.endswith("…") and echoed.startswith("Can I pay for many")


INVOICES = (
    "Every charge creates an invoice. "
    "Open **Settings > Billing > Invoices** for the whole history. "
    "Invoices are kept for 7 years."
)


@pytest.mark.parametrize(
    ("question", "wanted"),
    [
        ("where are the invoices?", "Settings > Billing > Invoices"),
        ("how long do you keep invoices?", "7 years"),
        ("invoices?", "Every charge creates an invoice."),
    ],
)
def test_of_sentences_holding_the_same_words_the_one_in_the_form_asked_for_is_quoted(
    question: str, wanted: str
) -> None:
    responder = OfflineResponder(AnswerSettings(max_sentences=1))
    hits = [hit(INVOICES, source="docs/billing.md", title="Billing", relevance=0.7, heading=0.8), elsewhere()]
    reply = responder.answer(question, hits)
    assert wanted in reply.text and sum(line.startswith("> ") for line in reply.text.splitlines()) == 1, reply.text


def test_a_how_do_i_question_is_quoted_the_steps() -> None:
    text = "You can choose a new password at any time.\n\n" + STEPS.split("\n\n")[0]
    responder = OfflineResponder(AnswerSettings(max_sentences=1))
    reply = responder.answer("how do I choose a new password?", [hit(text, relevance=0.7, heading=0.8), elsewhere()])
    assert "1. Go to the sign-in page." in reply.text and "at any time" not in reply.text, reply.text


def test_a_section_that_sends_the_customer_to_another_document_is_followed_there(responder: OfflineResponder) -> None:
    cancelling = hit(
        "Cancelling stops future renewals. Whether you are eligible for a refund is described in our "
        "refund policy (refund-policy.pdf).",
        source="docs/cancelling.md",
        title="Cancelling your subscription",
        section="Refunds",
        relevance=0.62,
        heading=0.55,
        index=1,
    )
    policy = hit(
        "You can ask for a full refund within 30 days of the first payment.",
        source="docs/refund-policy.pdf",
        title="Refund policy",
        relevance=0.58,
        heading=0.5,
        index=2,
    )
    reply = responder.answer("If I cancel now, can I get a refund?", [cancelling, policy])

    assert "in **Cancelling your subscription › Refunds**" in reply.text
    assert reply.text.endswith(
        "For more, it points to **Refund policy**:\n\n> You can ask for a full refund within 30 days of the first payment."
    )
    assert [c.source for c in reply.citations] == ["docs/cancelling.md", "docs/refund-policy.pdf"]


def test_a_document_that_is_not_named_is_not_quoted_beside_the_answer(responder: OfflineResponder) -> None:
    reply = responder.answer("How do I reset my password?", [*reset_hits(), elsewhere()])
    assert "points to" not in reply.text and {c.source for c in reply.citations} == {RESET}


YEARLY = (
    "Within 14 days of buying a yearly membership you can cancel it for a full refund, as long as you have "
    "not taken a ride on it. After the first 14 days we refund the whole months left, minus an admin fee of £10.\n\n"
    "Exceptions:\n\n"
    "- No admin fee if you are moving away from Norbridge: send us a proof of your new address.\n"
    "- A yearly membership bought at a discount in a promotion is not refunded after 14 days."
)


def test_the_sentence_closest_to_the_question_is_quoted_though_it_shares_no_word(
    responder: OfflineResponder,
) -> None:
    # "annual" and "money back" are not the article's words; "moving" is, in an exception. The
    # search scored each sentence against the question (Hit.sentences): the refund rule is closest.
    sentences = (
        ScoredSentence(
            "Within 14 days of buying a yearly membership you can cancel it for a full refund, "
            "as long as you have not taken a ride on it.",
            0.61,
        ),
        ScoredSentence("After the first 14 days we refund the whole months left, minus an admin fee of £10.", 0.58),
        ScoredSentence(
            "No admin fee if you are moving away from Norbridge: send us a proof of your new address.", 0.41
        ),
        ScoredSentence("A yearly membership bought at a discount in a promotion is not refunded after 14 days.", 0.44),
    )
    found = dataclasses.replace(
        hit(YEARLY, title="Refunds", section="Cancelling a yearly membership", relevance=0.55, heading=0.5),
        sentences=sentences,
        sentence_relevance=0.61,
    )
    question = "I bought the annual membership 5 days ago but I'm moving abroad, can I get my money back?"

    reply = responder.answer(question, [found, elsewhere()])

    assert "for a full refund" in reply.text
    assert "minus an admin fee of £10" in reply.text  # within SENTENCE_MARGIN of the closest
    assert reply.citations[0].section == "Cancelling a yearly membership"


def test_without_scored_sentences_the_quote_goes_by_the_question_s_words(responder: OfflineResponder) -> None:
    found = hit(YEARLY, title="Refunds", section="Cancelling a yearly membership", relevance=0.62, heading=0.5)

    reply = responder.answer("I'm moving away, is there an admin fee?", [found, elsewhere()])

    assert "moving away from Norbridge" in reply.text


def test_an_faq_answer_is_quoted_whole(responder: OfflineResponder) -> None:
    answer = (
        "A helmet is not required by law, but we recommend one on every ride. We do not hand out helmets. "
        "Folding helmets are sold at the Customer Service Centre for £15."
    )
    found = hit(answer, title="FAQ", section="Do I have to wear a helmet?", relevance=0.55, heading=0.64)

    reply = responder.answer("Do you lend out helmets?", [found, elsewhere()])

    assert "We do not hand out helmets." in reply.text
    assert "Folding helmets are sold at the Customer Service Centre for £15." in reply.text
    assert "A helmet is not required by law" in reply.text


def test_a_longer_faq_answer_opens_with_its_first_sentence(responder: OfflineResponder) -> None:
    """Past `answer.max_sentences`, the sentences sharing the question's words were quoted
    without the one that answers it: "is always overflowing. can we get a bigger one?" got only
    "We will take your old bin away when we deliver the new one."."""
    answer = (
        "Yes, if 5 or more people live in your home, or if you have 2 or more children in nappies. "
        "Apply online and we will check your household. "
        "A larger bin is free if you qualify and is delivered within 10 working days. "
        "We will take your old bin away when we deliver the new one."
    )
    found = hit(answer, title="Bins FAQ", section="Can I have a bigger black bin?", relevance=0.55, heading=0.7)

    reply = responder.answer("the black bin is always overflowing, can we get a bigger one?", [found, elsewhere()])

    assert "> Yes, if 5 or more people live in your home, or if you have 2 or more children in nappies." in reply.text
    assert reply.text.index("Yes, if 5") < reply.text.index("We will take your old bin away")


def test_an_faq_answer_s_opening_comes_only_where_the_quote_has_room(responder: OfflineResponder) -> None:
    reasons = "\n".join(
        f"- reason number {i}: a household where the circumstances described at length here apply to you" * 3
        for i in range(6)
    )
    answer = (
        f"You can have a bigger black bin if:\n\n{reasons}\n\n"
        "Apply online. We check your household. A bigger black bin costs £45. We take the old bin away."
    )
    found = hit(answer, title="Bins FAQ", section="Can I have a bigger black bin?", relevance=0.6, heading=0.7)

    reply = responder.answer("how much does a bigger black bin cost?", [found, elsewhere()])

    assert "A bigger black bin costs £45." in reply.text
    assert "reason number 0" not in reply.text


def test_a_sections_closest_sentence_counts_in_its_match() -> None:
    found = dataclasses.replace(
        hit("Call our line on 0345 600 1122.", relevance=0.43, heading=0.39), sentence_relevance=0.61
    )

    assert match(found) == pytest.approx(0.61)


CLASSES = "docs/classes.json"


def water_class(name: str, text: str, index: int, relevance: float) -> Hit:
    return hit(text, source=CLASSES, title="Classes", section=name, relevance=relevance, heading=0.5, index=index)


def test_a_quote_from_several_sections_names_each(responder: OfflineResponder) -> None:
    """Entries of a list of classes rarely name themselves: their names are their sections'
    headings, so a quote that spans several says which is which."""
    hits = [
        water_class("Aqua Fit", "A low-impact water workout, kind to joints. Monday 12:15.", 0, 0.66),
        water_class("Aqua Zumba", "Latin dance moves as a water workout. Wednesday 10:15.", 1, 0.64),
        elsewhere(),
    ]
    reply = responder.answer("What water workout classes have you got?", hits)
    assert "> **Aqua Fit**\n>\n> A low-impact water workout" in reply.text
    assert "> **Aqua Zumba**\n>\n> Latin dance moves as a water workout" in reply.text


FREEZING = (
    "Instead of cancelling, members can freeze their membership for 1 to 3 months. "
    "A freeze costs £5 per month.\n\n"
    "To cancel, give us one full calendar month's notice at reception."
)


def freezing() -> list[Hit]:
    return [
        hit(FREEZING, source="docs/memberships.md", title="Memberships", section="Freezing", heading=0.6),
        elsewhere(),
    ]


def test_a_sentence_is_quoted_with_the_rest_of_its_short_paragraph(responder: OfflineResponder) -> None:
    """ "A freeze costs £5 per month" shares no word with the question, but it finishes the
    sentence that answers it: the short paragraph goes out whole."""
    reply = responder.answer("can I pause my membership instead of cancelling?", freezing())
    assert (
        "> Instead of cancelling, members can freeze their membership for 1 to 3 months.\n> A freeze costs £5"
        in reply.text
    )


CANCELLED_SAILINGS = (
    "When a sailing is cancelled because of the weather, we do not pay for accommodation, meals or onward"
    " travel. We recommend travel insurance that covers travel disruption.\n\n"
    "The exception is a sailing cancelled because of a technical fault with our ship. If this leaves you"
    " stranded overnight, we pay reasonable costs for a room and an evening meal, up to £80 per person per"
    " night. Keep your receipts and claim online within 30 days."
)


def test_the_best_sentences_paragraph_leaves_room_for_the_next_best(responder: OfflineResponder) -> None:
    """The closest sentence ("…we pay reasonable costs for a room") comes with its short
    paragraph, the exception it belongs to; the weather sentence, which answers a customer kept
    overnight by gales, is the section's next best and is quoted too (it was left out when each of
    that paragraph's sentences took one of the three places)."""
    scored = {
        "When a sailing is cancelled because of the weather, we do not pay for accommodation, meals or onward"
        " travel.": 0.54,
        "We recommend travel insurance that covers travel disruption.": 0.42,
        "The exception is a sailing cancelled because of a technical fault with our ship.": 0.43,
        "If this leaves you stranded overnight, we pay reasonable costs for a room and an evening meal, up to £80"
        " per person per night.": 0.63,
        "Keep your receipts and claim online within 30 days.": 0.45,
    }
    found = dataclasses.replace(
        hit(CANCELLED_SAILINGS, source="docs/disruption.txt", title="Disruption", section="COSTS", heading=0.5),
        relevance=0.56,
        sentences=tuple(ScoredSentence(text, relevance) for text, relevance in scored.items()),
        sentence_relevance=0.63,
    )
    reply = responder.answer(
        "Our sailing home was cancelled because of the gales and we had to stay an extra night. Will you pay for"
        " the room?",
        [found, elsewhere()],
    )
    assert "> When a sailing is cancelled because of the weather, we do not pay for accommodation" in reply.text
    assert "> If this leaves you stranded overnight, we pay reasonable costs for a room" in reply.text
    assert "> The exception is a sailing cancelled because of a technical fault" in reply.text


def test_another_section_comes_in_only_while_the_quote_has_fewer_sentences_than_max() -> None:
    """The best sentence's paragraph is one block, but its sentences still count against
    `max_sentences` for another section: a section as close to the question (it holds "cancel"
    and "membership" too) does not make the quote longer than three sentences."""
    monthly = hit(
        "You can cancel a monthly membership at any time. In the app, go to Account, then Membership, and tap"
        " Cancel membership. Your membership runs until the end of the month you have paid for.",
        source="docs/cancelling.md",
        title="Cancelling",
        section="Cancelling a monthly membership",
        relevance=0.7,
        heading=0.8,
    )
    yearly = hit(
        "You can cancel a yearly membership within 14 days for a full refund.",
        source="docs/cancelling.md",
        title="Cancelling",
        section="Cancelling a yearly membership",
        relevance=0.6,
        heading=0.6,
        index=1,
    )
    reply = OfflineResponder(AnswerSettings()).answer("how do I cancel my membership?", [monthly, yearly])
    assert "> You can cancel a monthly membership at any time." in reply.text
    assert "yearly" not in reply.text, reply.text


ASBESTOS = (
    "Bonded asbestos sheets (for example from a shed or garage roof) are accepted by appointment only, on"
    " Tuesday mornings. Call 01632 960 455 to book. You can bring up to 2 sheets per visit, each no more than"
    " 1.2 metres long. Wrap the sheets in heavy-duty plastic and seal them with tape before you come. There is"
    " no charge. Loose or crumbly asbestos, such as pipe lagging, is not accepted."
)


@pytest.mark.parametrize(
    ("after", "quoted"),
    [
        ("Call 01632 960 455 to book.", True),
        ("Email asbestos@wrenfield.example to book.", True),
        ("Bookings open a week ahead.", False),
        ("Dumping them anywhere else can mean a fine of up to £999.", False),
        ("Park in bay 112 by the weighbridge.", False),
        ("Appointments for the 2025-2026 season open in March.", False),
        ("Sign in with your work address, such as jane@yourcompany.com, to see your bookings.", False),
        ("Telephone 01632 960 455 to book.", True),
        ("Tel: 01632 960 455.", True),
        ("Customers who contact us between 2026-01-01 and 2026-02-01 pay nothing.", False),
        ("Write your booking reference on the form 1234567.", False),
    ],
)
def test_how_to_act_on_the_best_sentence_comes_with_it(after: str, quoted: bool) -> None:
    """In a paragraph too long to quote whole, the sentence right after the best one goes with
    it when it gives a number to call or an address to write to: "accepted by appointment only"
    is no answer without how to book."""
    text = ASBESTOS.replace("Call 01632 960 455 to book.", after)
    found = hit(text, source="docs/recycling.txt", title="Recycling centre", section="ASBESTOS", heading=0.6)
    reply = OfflineResponder(AnswerSettings()).answer(
        "We're taking the old roof off the garage, it's those asbestos cement sheets. Can I bring them to the"
        " recycling centre?",
        [found, elsewhere()],
    )
    assert "> Bonded asbestos sheets (for example from a shed or garage roof) are accepted" in reply.text
    assert (f"> {after}" in reply.text) is quoted, reply.text


def test_a_quote_of_one_section_holds_at_most_two_sentences_beyond_max_sentences() -> None:
    """The best sentence's paragraph takes one of the three places, but the blocks after it, each
    with the sentences it leans on, do not make a quote of nine sentences: five at most."""
    text = (
        "Members can freeze their membership for up to three months. A freeze costs £5 per month. Ask at the desk."
        "\n\nSome months are busy. Classes fill up fast in January. In January you cannot freeze a membership."
        "\n\nStudents get a discount. The discount needs a valid card. Student memberships can be frozen with a"
        " freeze form."
    )
    found = hit(text, source="docs/membership.md", title="Membership", section="Freezing your membership", heading=0.8)
    reply = OfflineResponder(AnswerSettings()).answer("can I freeze my membership?", [found, elsewhere()])
    assert "> Members can freeze their membership for up to three months." in reply.text
    assert sum(line.startswith("> ") for line in reply.text.splitlines()) <= 5, reply.text


def test_the_rest_of_a_paragraph_stays_within_max_sentences() -> None:
    reply = OfflineResponder(AnswerSettings(max_sentences=1)).answer("can I freeze my membership?", freezing())
    assert sum(line.startswith("> ") for line in reply.text.splitlines()) == 1, reply.text


def test_who_do_i_call_quotes_the_sentence_with_the_number() -> None:
    text = "Our team answers calls about billing on weekdays. Call the billing line on 0808 157 0555 at any time."
    hits = [hit(text, source="docs/contact.md", title="Contact us", relevance=0.7, heading=0.6), elsewhere()]
    reply = OfflineResponder(AnswerSettings(max_sentences=1)).answer("who do I call for billing?", hits)
    assert "> Call the billing line on 0808 157 0555 at any time." in reply.text, reply.text


def test_who_do_i_call_wants_a_telephone_number_not_any_number(responder: OfflineResponder) -> None:
    """ "75 or over" holds the 82 the customer told and has a digit, yet it is no number to call."""
    text = (
        "Many personal alarms (telecare), such as the pendant alarms used by older people living alone, work"
        " through the home phone line. If you or someone you live with relies on one, please register for"
        " Priority Care. Registered customers get:\n\n"
        "- faults fixed within 24 hours, including at weekends\n"
        "- a free battery back-up unit, so the phone keeps working in a power cut\n\n"
        "You can register if you are 75 or over, rely on a medical or telecare alarm, have a disability or"
        " long-term illness, or have no mobile signal at home. Register in My Kestrel or by calling customer"
        " services.\n\n"
        "If a phone line used for a medical alarm stops working, call our Priority Care line straight away on"
        " 0808 157 0555. It's open 24 hours a day. Please tell your alarm provider too."
    )
    closeness = {
        "Many personal alarms": 0.62,
        "You can register if you are 75": 0.48,
        "If a phone line used for a medical alarm": 0.53,
    }
    sentences = tuple(
        ScoredSentence(sentence.strip(), next((c for start, c in closeness.items() if start in sentence), 0.35))
        for sentence in units(text)
    )
    found = hit(
        text, source="docs/contact.md", title="Contact us", section="Medical alarms and Priority Care", relevance=0.61
    )
    hits = [dataclasses.replace(found, heading_relevance=0.40, coverage=0.38, sentences=sentences), elsewhere()]
    question = (
        "my mum is 82 and lives on her own, her pendant alarm goes through the phone line and the line has been"
        " dead since yesterday. she has no mobile. who do I call??"
    )
    reply = responder.answer(question, hits)
    assert "0808 157 0555" in reply.text, reply.text


BOILER_AGES = (
    "Every plan includes an annual boiler service. Boilers up to 10 years old can join straight away. "
    "Boilers between 10 and 15 years old can join after a qualifying inspection, which costs £49. "
    "We can't cover boilers more than 15 years old. Gas, oil and LPG boilers can join."
)


def test_a_sentence_whose_range_holds_the_question_s_number_is_quoted() -> None:
    hits = [hit(BOILER_AGES, source="docs/plans.md", title="Cover plans", relevance=0.7, heading=0.6), elsewhere()]
    reply = OfflineResponder(AnswerSettings(max_sentences=2)).answer(
        "my boiler is 12 yrs old can i still get it on your cover plan", hits
    )
    assert "qualifying inspection, which costs £49" in reply.text, reply.text


def test_a_section_split_over_two_chunks_is_named_once(responder: OfflineResponder) -> None:
    hits = [
        water_class("Aqua Fit", "A low-impact water workout, kind to joints.", 0, 0.66),
        water_class("Aqua Fit", "The water workout is on Monday at 12:15.", 1, 0.65),
        water_class("Aqua Zumba", "Latin dance moves as a water workout.", 2, 0.64),
        elsewhere(),
    ]
    reply = responder.answer("What water workout classes have you got?", hits)
    assert reply.text.count("**Aqua Fit**") == 1 and "> **Aqua Zumba**" in reply.text, reply.text


LOST_CHILD = (
    "If you cannot find your child anywhere in the centre, tell any member of staff immediately. "
    "Do not wait and do not go looking on your own first.\n\n"
    "What happens next:\n\n"
    "1. Staff radio a Code Blue to the whole team.\n"
    "2. Lifeguards check the pool, the changing village and the toilets."
)


def test_a_later_sentence_is_quoted_after_the_one_it_leans_on(responder: OfflineResponder) -> None:
    """ "Do not wait…" shares a word with the question ("looking"), the sentence before it none,
    and the steps are closest: the second sentence alone would tell a parent what not to do,
    and not what to do."""
    sentences = (
        ScoredSentence(
            "If you cannot find your child anywhere in the centre, tell any member of staff immediately.", 0.65
        ),
        ScoredSentence("Do not wait and do not go looking on your own first.", 0.58),
        ScoredSentence("Staff radio a Code Blue to the whole team.", 0.50),
        ScoredSentence("Lifeguards check the pool, the changing village and the toilets.", 0.71),
    )
    found = dataclasses.replace(
        hit(LOST_CHILD, source="docs/safety.txt", title="Safety", section="LOST OR MISSING CHILD", heading=0.6),
        relevance=0.71,
        sentences=sentences,
        sentence_relevance=0.71,
    )
    rules = dataclasses.replace(
        hit(
            "Children under 8 stay with their adult in the changing area.",
            source="docs/safety.txt",
            title="Safety",
            section="POOL SUPERVISION RULES",
            heading=0.3,
            index=1,
        ),
        relevance=0.5,
        sentences=(ScoredSentence("Children under 8 stay with their adult in the changing area.", 0.5),),
        sentence_relevance=0.5,
    )
    question = (
        "…my 5 year old wasn't there, I've looked all round the changing area. What do I do??"  # docs/answering.md
    )

    reply = responder.answer(question, [found, rules, elsewhere()])

    assert "> 2. Lifeguards check the pool" in reply.text, reply.text
    assert "tell any member of staff immediately.\n> Do not wait" in reply.text, reply.text


def test_a_question_for_a_time_is_quoted_the_sentence_that_gives_one() -> None:
    """ "what time" asks for a clock time: the sentence with "4pm" goes out, not the one before it,
    which shares as many of the question's words ("first")."""
    text = "On your first visit, collect your keys from reception. Lodges are ready from 4pm and pitches from 1pm."
    hits = [hit(text, source="docs/arriving.md", title="Arriving", section="Arrival", heading=0.6), elsewhere()]

    reply = OfflineResponder(AnswerSettings(max_sentences=1)).answer(
        "what time can we get into the lodge on the first day", hits
    )

    assert "> Lodges are ready from 4pm and pitches from 1pm." in reply.text, reply.text


def test_a_step_of_a_json_record_is_quoted_whole(responder: OfflineResponder) -> None:
    """A JSON record's steps (`knowledge.conversion.json_records`) are quoted as steps: the one
    with the number to call is there, and no "steps: 1." cut from steps run together."""
    record = {
        "title": "Report a missed bin collection",
        "summary": "If your bin was out by 6:30am and has not been emptied by 4pm, report it by the next working day.",
        "steps": [
            "1. Check your collection day and any bank holiday changes on the My bin day page.",
            "2. Report the missed bin online at wrenfield.gov.uk/missedbin, or call 01632 960 300.",
            "3. Tell us your address, which bin was missed and where it was left.",
        ],
        "notes": "If your bin was not out by 6:30am, we will not come back.",
    }
    [chunk] = json_chunks(json.dumps([record]).encode(), stem="report-a-problem", max_chars=2000)
    found = hit(chunk.text, source="docs/report-a-problem.json", title=chunk.title, section=chunk.section)

    reply = responder.answer_all([Asked("bin wasnt emptied today, who do i tell?", [found])])

    assert "> 2. Report the missed bin online at wrenfield.gov.uk/missedbin, or call 01632 960 300." in reply.text
    assert "steps: 1." not in reply.text and "., 2." not in reply.text


def test_a_record_s_fields_are_quoted_a_line_each(responder: OfflineResponder) -> None:
    """A converted JSON record is quoted as it reads, "code: BD-4012" then "meaning: …", not run
    together into "code: BD-4012 http_status: 409 area: Members meaning: …"; and it is quoted
    whole, the meaning with the code a question names."""
    record = (
        "code: BD-4031\nhttp_status: 403\narea: Plans\n"
        "meaning: You tried to use a feature that your workspace's plan does not include.\n"
        "what_to_do: Ask a workspace Owner to upgrade."
    )
    hits = [hit(record, source="error-codes.json", title="Error codes", section="Feature not available", exact=True)]
    reply = responder.answer("I get BD-4031 when I export", hits)
    assert "> code: BD-4031\n> http_status: 403\n> area: Plans\n> meaning: You tried" in reply.text
    assert "> what_to_do: Ask a workspace Owner to upgrade." in reply.text


def test_a_long_run_of_labelled_lines_is_quoted_by_its_sentences(responder: OfflineResponder) -> None:
    """A flattened list of records ("terms.1.detail: …" to "terms.5.detail: …") is no one record
    to quote a line each: it is quoted by its sentences, as before records were quoted by line."""
    lines = [f"terms.{n}.title: Term {n}\nterms.{n}.detail: Rule {n} applies to lockers only." for n in range(1, 5)]
    lines.append("terms.5.title: Access\nterms.5.detail: You can collect things from storage with 48 hours' notice.")
    hits = [hit("\n".join(lines), source="storage.json", title="Storage", section="Storage", relevance=0.7)]
    reply = responder.answer("how much notice to collect things from storage?", hits)
    assert "48 hours' notice" in reply.text
    assert "\n> terms.5.detail:" not in reply.text


def test_a_sentence_ending_in_a_colon_is_quoted_with_the_labelled_lines_it_introduces(
    responder: OfflineResponder,
) -> None:
    """A plain-text article's "Label: value" lines after "…every month:" are what the sentence
    promises, as a list would be."""
    printing = """Each plan comes with free pages every month:

Hot desk: 50 pages
Dedicated desk: 200 pages
Private office: 150 pages per person

Scanning to email is free for everyone."""
    hits = [hit(printing, source="docs/printing.txt", title="Printing", relevance=0.6, coverage=0.6), elsewhere()]
    reply = responder.answer("how many free pages do we get each month?", hits)
    assert (
        "> Each plan comes with free pages every month:\n"
        "> Hot desk: 50 pages\n"
        "> Dedicated desk: 200 pages\n"
        "> Private office: 150 pages per person"
    ) in reply.text


def test_a_table_cut_to_the_row_holding_the_asked_date_is_quoted_across_its_chunks(responder: OfflineResponder) -> None:
    """A timetable split over two chunks is quoted as one table; the row whose day holds "the
    26th" is what the quote keeps, though no other word of the question is in it."""
    header = "| Day | Office | Notes |\n| --- | --- | --- |\n"
    weekdays = header + "| Monday | 9am to 5pm | |\n| Saturday | 9am to 1pm | Open for returns. |"
    holidays = header + "| Christmas Day | Closed | |\n| Boxing Day (26 December) | 10am to 2pm | |"
    hits = [
        hit(text, source="docs/hours.csv", title="Opening hours", section="Opening hours", index=index, relevance=score)
        for text, index, score in ((holidays, 1, 0.6), (weekdays, 0, 0.5))
    ]
    reply = responder.answer("are you open on the 26th?", hits)
    assert "| Boxing Day (26 December) | 10am to 2pm |" in reply.text
    assert "Saturday" not in reply.text
