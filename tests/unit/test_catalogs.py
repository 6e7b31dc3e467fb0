"""The hub's sentences in every shipped language: each catalog complete (a sentence added to the
code without its translations fails here), an operator's folder overriding and adding, and a
customer's turn said in their language from greeting to handoff."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.messages.catalog import Catalog
from click.testing import CliRunner
from sqlalchemy import select

from core.answering.attachments import AttachmentReader
from core.answering.offline_responder import DECLINE, GREETING_REPLY, NOT_FOUND
from core.answering.sentiment import SentimentAnalyzer
from core.cli.language_commands import sentences
from core.cli.main import main
from core.cli.server import create_app
from core.desk_port import CaseAction
from core.handoff.desk_store import RESOLVED_NOTICE, STILL_WITH_US, act_on_case, remind_overdue
from core.handoff.hours import Sla
from core.handoff.reach import NO_PERSON, where_to_reach
from core.handoff.survey import QUESTION
from core.languages import SHIPPED, SOURCE, Catalogs, _, read_catalog, shipped_folders, speaking, use_catalogs
from core.messages import Address, InboundMessage
from core.pipeline.hub import Hub
from core.pipeline.staffing import Staffing
from core.pipeline.storage import Storage
from core.pipeline.turn_runner import HANDOFF_NOTICE, TurnRunner
from core.placeholders import placeholders, unfit
from core.rate_limits import RateLimits
from core.settings import HandoffSettings, HoursSettings, LanguageSettings, Settings
from core.store.case_tables import Case
from core.store.db import Message, utcnow
from core.store.transactions import Transactions
from tests.app_client import AppClient
from tests.fakes.flaky_channel import FlakyChannel
from tests.unit.core.pipeline.test_hub import ScriptedAgent, hub_for

TRANSLATED = tuple(language for language in SHIPPED if language != SOURCE)


@pytest.fixture(scope="module")
def template() -> Catalog:
    """Every sentence extracted from core/, channels/, core/handoff/, knowledge/ and the widget."""
    return sentences()


def english(template: Catalog) -> list[str]:
    return [m.id for m in template if isinstance(m.id, str) and m.id]


def po_entries(language: str) -> dict[str, tuple[str, bool]]:
    """(translation, fuzzy) of every entry in the language's shipped .po files, by English."""
    from babel.messages.pofile import read_po

    entries: dict[str, tuple[str, bool]] = {}
    for path in [p for folder in shipped_folders() for p in sorted((folder / language / "LC_MESSAGES").glob("*.po"))]:
        with path.open("rb") as file:
            for message in read_po(file):
                if isinstance(message.id, str) and message.id and isinstance(message.string, str):
                    entries[message.id] = (message.string, message.fuzzy)
    return entries


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_sentence_is_translated_in_every_shipped_language(template: Catalog, language: str) -> None:
    entries = po_entries(language)
    missing = [e for e in english(template) if not entries.get(e, ("", True))[0]]
    fuzzy = [e for e in english(template) if entries.get(e, ("", False))[1]]
    assert missing == [], f"{language}: {len(missing)} sentences without a translation"
    assert fuzzy == [], f"{language}: fuzzy translations are not said"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_translation_keeps_the_placeholders(template: Catalog, language: str) -> None:
    entries = po_entries(language)
    differ = [(e, entries[e][0]) for e in english(template) if e in entries and unfit(entries[e][0], e)]
    assert differ == []


def test_every_sentence_of_the_code_has_only_plain_placeholders(template: Catalog) -> None:
    for sentence in english(template):
        placeholders(sentence)  # raises for a spec, a conversion, an index or an attribute


def test_the_extract_finds_the_bots_sentences(template: Catalog) -> None:
    """The template holds what `_()` and `N_()` mark, with where each is written."""
    assert GREETING_REPLY in template and HANDOFF_NOTICE in template
    assert NO_PERSON in template
    found = template[HANDOFF_NOTICE]
    assert found is not None and found.locations[0][0] == "core/pipeline/turn_runner.py"


def write_po(path: Path, language: str, entries: dict[str, str]) -> Path:
    lines = ['msgid ""', 'msgstr ""', f'"Language: {language}\\n"', '"Content-Type: text/plain; charset=utf-8\\n"', ""]
    for english, said in entries.items():
        lines += [f'msgid "{english}"', f'msgstr "{said}"', ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_an_operator_folder_overrides_a_shipped_sentence_and_adds_a_language(tmp_path: Path) -> None:
    write_po(tmp_path / "de.po", "de", {"Thank you for your rating!": "Danke fürs Bewerten!"})
    write_po(tmp_path / "it.po", "it", {"Thank you for your rating!": "Grazie per la valutazione!"})
    catalogs = Catalogs(tmp_path, default="es")
    assert catalogs.text("de", "Thank you for your rating!") == "Danke fürs Bewerten!"
    assert catalogs.text("de", "How can I help?") == "Wie kann ich Ihnen helfen?"  # the rest stays shipped
    assert catalogs.text("it", "Thank you for your rating!") == "Grazie per la valutazione!"
    assert "it" in catalogs.languages()
    # a language with no catalog at all is spoken in languages.default
    assert catalogs.text("nl", "Thank you for your rating!") == "¡Gracias por su valoración!"


def test_a_language_without_a_catalog_falls_back_to_the_default_with_its_dates(tmp_path: Path) -> None:
    from core.handoff.hours import BusinessHours

    use_catalogs(None, default="fr")
    try:
        hours = BusinessHours.of(HoursSettings(timezone="Europe/Berlin", monday="09:00-17:00"))
        friday = datetime(2025, 10, 24, 18, 5, tzinfo=ZoneInfo("Europe/Berlin"))
        with speaking("nl"):  # no Dutch catalog: French sentences, French day names
            assert _("How can I help?") == "Comment puis-je vous aider ?"
            assert hours.when_back(friday) == "lundi à 09:00 CET"
        with speaking("de"):
            assert hours.when_back(friday) == "am Montag um 09:00 CET"
    finally:
        use_catalogs(None)


def test_a_translation_with_other_placeholders_is_said_in_english(tmp_path: Path) -> None:
    write_po(tmp_path / "de.po", "de", {"Nice to meet you, {name}!": "Hallo {nmae}!"})
    use_catalogs(tmp_path)
    try:
        with speaking("de"):
            assert _("Nice to meet you, {name}!", name="Ada") == "Nice to meet you, Ada!"
    finally:
        use_catalogs(None)


NICE = "Nice to meet you, {name}!"
NOTE = "I've added your note to case {reference}; the person handling it will see it."


def test_a_translation_reaching_into_a_value_is_said_in_english_and_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """str.format would have said "Freut mich, (<class 'str'>, <class 'object'>)!"."""
    write_po(tmp_path / "de.po", "de", {NICE: "Freut mich, {name.__class__.__mro__}!"})
    with caplog.at_level("WARNING", logger="core.languages"):
        use_catalogs(tmp_path)
    try:
        with speaking("de"):
            assert _(NICE, name="Ada") == "Nice to meet you, Ada!"
            assert _(NICE, name="Bob") == "Nice to meet you, Bob!"
        warned = [r.getMessage() for r in caplog.records if r.name == "core.languages"]
        assert len(warned) == 1 and "{name.__class__.__mro__}" in warned[0]
    finally:
        use_catalogs(None)


def test_a_translation_padding_a_value_is_said_in_english(tmp_path: Path) -> None:
    """`{reference:>300000000}` built a 300 MB sentence."""
    write_po(tmp_path / "de.po", "de", {NOTE: "Notiz zu Fall {reference:>300000000} gespeichert."})
    use_catalogs(tmp_path)
    try:
        with speaking("de"):
            assert _(NOTE, reference="C-7") == NOTE.format(reference="C-7")
    finally:
        use_catalogs(None)


# -- the command line --------------------------------------------------------------------------


def test_the_template_command_writes_every_sentence(tmp_path: Path, template: Catalog) -> None:
    out = tmp_path / "supporthub.pot"
    result = CliRunner().invoke(main, ["languages", "template", "--output", str(out)])
    assert result.exit_code == 0, result.output
    with out.open("rb") as file:
        from babel.messages.pofile import read_po

        written = {m.id for m in read_po(file) if m.id}
    assert written == set(english(template))


def test_the_check_command_names_missing_sentences_and_broken_placeholders(tmp_path: Path) -> None:
    write_po(tmp_path / "de.po", "de", {"Nice to meet you, {name}!": "Hallo {nmae}!"})
    write_po(tmp_path / "it.po", "it", {"Thank you for your rating!": "Grazie per la valutazione!"})
    result = CliRunner().invoke(main, ["languages", "check", str(tmp_path)])
    assert result.exit_code == 1  # a placeholder the hub cannot fill
    assert "placeholders differ: 'Nice to meet you, {name}!' -> 'Hallo {nmae}!'" in result.output
    italian = result.output.split("it.po:")[1]
    assert "missing: How can I help?" in italian and "missing: Thank you for your rating!" not in italian
    german = result.output.split("it.po:")[0]
    assert "missing:" not in german  # the shipped German catalog covers the rest


@pytest.mark.parametrize(
    ("english", "translated", "named"),
    [
        (NOTE, "Notiz zu Fall {reference:>300000000} gespeichert.", "{reference:>300000000}"),
        (NICE, "Freut mich, {name.__class__.__mro__}!", "{name.__class__.__mro__}"),
        (NICE, "Freut mich, {name!r}!", "{name!r}"),
        (NICE, "Freut mich, {name[0]}!", "{name[0]}"),
    ],
)
def test_the_check_command_fails_a_placeholder_that_is_no_plain_name(
    tmp_path: Path, english: str, translated: str, named: str
) -> None:
    write_po(tmp_path / "de.po", "de", {english: translated})
    result = CliRunner().invoke(main, ["languages", "check", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert f"placeholder {named}: write only a name between braces: {english!r} -> {translated!r}" in result.output


def test_the_check_command_passes_a_folder_that_only_overrides(tmp_path: Path) -> None:
    write_po(tmp_path / "fr.po", "fr", {"Thank you for your rating!": "Merci beaucoup !"})
    result = CliRunner().invoke(main, ["languages", "check", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "fr.po: 1 sentences of its own" in result.output


# -- a customer's turns in their language ----------------------------------------------------------

FIRST_QUESTION = {
    "de": "Welche Farbe hat der Himmel auf dem Mars bei Sonnenuntergang und warum ist das so?",
    "es": "¿De qué color es el cielo de Marte al atardecer y por qué ocurre eso?",
    "fr": "De quelle couleur est le ciel de Mars au coucher du soleil et pourquoi est-ce ainsi ?",
    "pt": "De que cor é o céu de Marte ao pôr do sol e porque é que isso acontece?",
}
LAWYER = {
    "de": "Ich werde meinen Anwalt einschalten.",
    "es": "Voy a hablar con mi abogado sobre esto.",
    "fr": "Je vais contacter mon avocat à ce sujet.",
    "pt": "Vou falar com o meu advogado sobre isto.",
}
KEYWORDS = ["anwalt", "abogado", "avocat", "advogado"]


async def say(client: AppClient, text: str, contact: str) -> dict[str, Any]:
    response = await client.post("/api/messages", json={"contact": contact, "text": text})
    assert response.status == 200, await response.text()
    reply: dict[str, Any] = (await response.json())["reply"]
    return reply


UNSTAFFED_DECLINE = {
    "de": "Dazu konnte ich in unserem Hilfe-Center nichts finden, und raten möchte ich lieber nicht. "
    "Sie erreichen unser Support-Team unter support@brightdesk.example oder +1 555 0100.",
    "es": "No he encontrado nada sobre eso en nuestro centro de ayuda y prefiero no adivinar. "
    "Puede contactar con nuestro equipo de soporte en support@brightdesk.example o en el +1 555 0100.",
    "fr": "Je n'ai rien trouvé à ce sujet dans notre centre d'aide et je préfère ne pas deviner. "
    "Vous pouvez joindre notre équipe d'assistance à l'adresse support@brightdesk.example ou au +1 555 0100.",
    "pt": "Não encontrei nada sobre isso na nossa central de ajuda e prefiro não adivinhar. "
    "Você pode falar com nossa equipe de suporte pelo e-mail support@brightdesk.example ou pelo telefone +1 555 0100.",
}
"""The decline without a staff desk: where to reach the team ([handoff.contact]'s defaults), no person offered."""


@pytest.mark.parametrize("language", TRANSLATED)
async def test_a_customer_hears_the_decline_the_greeting_and_where_to_reach_the_team_in_their_language(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], language: str
) -> None:
    settings = make_settings(handoff=HandoffSettings(keywords=KEYWORDS))
    client: AppClient = await aiohttp_client(create_app(settings))
    try:
        with speaking(language):
            offer = _(DECLINE).removeprefix(_(NOT_FOUND)).strip()  # with a desk, the decline offers a person
            greeting, reach = _(GREETING_REPLY), where_to_reach(settings.handoff, now=utcnow())
        assert offer and offer != _(DECLINE)
        decline = (await say(client, FIRST_QUESTION[language], language))["text"]
        assert decline == UNSTAFFED_DECLINE[language] and offer not in decline
        # "Hi!" says no language for sure: the conversation's is kept
        assert (await say(client, "Hi!", language))["text"] == greeting
        told = await say(client, LAWYER[language], language)  # a keyword: a person is wanted, none can come
        assert told["handoff"] and told["text"] == reach
    finally:
        use_catalogs(None)


GERMAN_LAWYER = HandoffSettings(
    keywords=KEYWORDS,
    hours=HoursSettings(timezone="Europe/Berlin", **dict.fromkeys(("monday", "tuesday"), "09:00-17:30")),
)
EXPECTED_NOTICE = {
    "de": "Ich habe dieses Gespräch an eine Person aus unserem Support-Team übergeben. "
    "Unser Team ist am Montag um 09:00 CET wieder da und antwortet Ihnen dann hier.",
    "es": "He pasado esta conversación a una persona de nuestro equipo de soporte. "
    "Nuestro equipo vuelve el lunes a las 09:00 CET y le responderá aquí entonces.",
    "fr": "J'ai transmis cette conversation à une personne de notre équipe d'assistance. "
    "Notre équipe sera de retour lundi à 09:00 CET et vous répondra ici.",
    "pt": "Passei esta conversa para uma pessoa da nossa equipe de suporte. "
    "Nossa equipe volta segunda-feira às 09:00 CET e responde aqui.",
}


@pytest.mark.postgres
@pytest.mark.parametrize("language", TRANSLATED)
async def test_a_handoff_out_of_hours_says_when_the_team_is_back_in_the_customers_language(
    storage: Storage, language: str
) -> None:
    settings = Settings(handoff=GERMAN_LAWYER, languages=LanguageSettings())
    friday_evening = datetime(2025, 10, 24, 18, 5, tzinfo=ZoneInfo("Europe/Berlin"))
    channel = FlakyChannel()
    turns = TurnRunner(
        transactions=storage.turns,
        agent=ScriptedAgent(),
        analyzer=SentimentAnalyzer(settings.sentiment),
        reader=AttachmentReader(settings.attachments),
        settings=settings,
        staffing=Staffing(desk=True, inbox=None),
        clock=lambda: friday_evening,
    )
    hub = Hub(
        storage=storage,
        agent=ScriptedAgent(),
        turns=turns,
        channels={channel.name: channel},
        settings=settings,
        limits=RateLimits(per_contact="", per_ip=""),
    )
    receipt = await hub.receive(
        InboundMessage(Address("flaky", language), external_id="m1", sender_id=language, text=LAWYER[language])
    )
    reply = await hub.wait_for_reply(receipt.message_id, timeout=60)
    await hub.stop()
    assert reply is not None and reply.handoff
    assert reply.text == EXPECTED_NOTICE[language]


def test_the_shipped_catalogs_read_as_written() -> None:
    """Each shipped .po file parses, and none is empty."""
    for language in TRANSLATED:
        for folder in shipped_folders():
            for path in (folder / language / "LC_MESSAGES").glob("*.po"):
                assert read_catalog(path), path


@pytest.mark.postgres
async def test_what_staff_set_off_is_said_in_the_conversations_language(
    storage: Storage, transactions: Transactions
) -> None:
    """The reminder, the resolved notice and the survey are said outside any turn of the customer's."""
    channel = FlakyChannel()
    hub = hub_for(storage, ScriptedAgent(), channel, Settings(handoff=HandoffSettings(keywords=KEYWORDS)))
    receipt = await hub.receive(InboundMessage(Address("flaky", "dora"), "m1", "dora", LAWYER["de"]))
    assert await hub.wait_for_reply(receipt.message_id, timeout=60) is not None
    await hub.stop()
    case_id = await transactions.run(lambda s: s.execute(select(Case.id)).scalar_one())
    later = utcnow() + timedelta(hours=1)
    push = frozenset({"flaky"})
    await transactions.run(partial(remind_overdue, now=later, sla=Sla(timedelta(minutes=1)), push=push))
    await transactions.run(partial(act_on_case, case_id=case_id, action=CaseAction.RESOLVE, actor="U0SAM", push=push))
    said = await transactions.run(lambda s: list(s.execute(select(Message.text).order_by(Message.id)).scalars()))
    with speaking("de"):
        assert said[-3:] == [_(STILL_WITH_US), _(RESOLVED_NOTICE), _(QUESTION)]
    assert said[-1] == "Wie zufrieden waren Sie? Antworten Sie mit einer Zahl von 1 (schlecht) bis 5 (sehr gut)."
