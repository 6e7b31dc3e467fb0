"""The mood of a message in another language: read in that language, never by English rules
that cannot know its words, and measured on the labelled messages of each shipped language."""

from __future__ import annotations

import pytest

from core.answering.questions import questions
from core.answering.sentiment import SentimentAnalyzer, asks_for_person
from core.answering.small_talk import SmallTalk, small_talk
from core.settings import HandoffSettings, SentimentSettings, Settings
from core.turn_context import Intent
from tests.bench.bench_sentiment_languages import LABELS, load, scores

FRUSTRATED = HandoffSettings().frustrated_level


@pytest.fixture(scope="module")
def analyzer() -> SentimentAnalyzer:
    return SentimentAnalyzer(SentimentSettings())


def test_a_german_complaint_is_not_neutral(analyzer: SentimentAnalyzer) -> None:
    text = "Ich bin wirklich enttäuscht, das ist unverschämt!"
    as_english = analyzer.analyze(text, "en")  # what the hub read before: VADER knows no German
    assert (as_english.polarity, as_english.frustration, as_english.intent) == (0.0, 0.0, Intent.OTHER)
    read = analyzer.analyze(text, "de")
    assert read.intent is Intent.COMPLAINT and read.frustration >= HandoffSettings().frustration_threshold


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Das ist lächerlich, es funktioniert immer noch nicht!!", "de"),
        ("Esto es ridículo, sigue sin funcionar!!", "es"),
        ("C'est ridicule, ça ne marche toujours pas !!", "fr"),
        ("Isso é ridículo, continua sem funcionar!!", "pt"),
    ],
)
def test_a_complaint_in_another_language_is_a_frustrated_complaint(
    analyzer: SentimentAnalyzer, text: str, language: str
) -> None:
    read = analyzer.analyze(text, language)
    assert read.intent is Intent.COMPLAINT and read.frustration >= FRUSTRATED and read.polarity < 0


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Ich möchte mit einem Menschen sprechen", "de"),
        ("Kann ich bitte mit einem echten Mitarbeiter reden?", "de"),
        ("Quiero hablar con una persona.", "es"),
        ("Un agente, por favor", "es"),
        ("Je voudrais parler à un humain.", "fr"),
        ("Un conseiller, s'il vous plaît", "fr"),
        ("Quero falar com uma pessoa.", "pt"),
        ("Um atendente, por favor", "pt"),
    ],
)
def test_asking_for_a_person_in_another_language(analyzer: SentimentAnalyzer, text: str, language: str) -> None:
    assert analyzer.analyze(text, language).intent is Intent.HUMAN_REQUEST
    # too short to be sure of its language, a message is searched for every language's requests
    assert analyzer.analyze(text).intent is Intent.HUMAN_REQUEST
    assert asks_for_person(text)


@pytest.mark.parametrize(
    ("text", "language", "intent"),
    [
        ("Personne ne répond, c'est inadmissible.", "fr", Intent.COMPLAINT),  # "personne" is "nobody" here
        ("Ich habe gestern mit einem Mitarbeiter gesprochen.", "de", Intent.OTHER),
        ("¿Cómo hablo con mi banco para conectar la cuenta?", "es", Intent.QUESTION),
    ],
)
def test_a_person_mentioned_is_not_a_person_asked_for(
    analyzer: SentimentAnalyzer, text: str, language: str, intent: Intent
) -> None:
    assert analyzer.analyze(text, language).intent is intent


def test_english_words_in_another_language_do_not_set_the_mood(analyzer: SentimentAnalyzer) -> None:
    # VADER reads German "die" as English "die": a plain statement turned negative
    assert analyzer.analyze("Die Rechnung ist falsch", "en").polarity < -0.5
    assert analyzer.analyze("Die Rechnung ist falsch", "de").polarity == 0.0
    # Portuguese "bravo" is angry, not applause
    assert analyzer.analyze("Estou muito bravo com vocês", "pt").polarity < 0


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Wie verbinde ich mein Bankkonto", "de"),
        ("Hallo, kann ich zwei Benutzer anlegen", "de"),
        ("¿Cuánto cuesta el plan Solo al mes?", "es"),
        ("Comment exporter mes factures", "fr"),
        ("Livrez-vous en Belgique", "fr"),
        ("Posso pagar com boleto", "pt"),
    ],
)
def test_a_question_in_another_language(analyzer: SentimentAnalyzer, text: str, language: str) -> None:
    assert analyzer.analyze(text, language).intent is Intent.QUESTION


def test_questions_in_another_language_are_what_is_searched() -> None:
    assert questions("Hallo! Ich bin Omar, wir sind seit März Kunden. Wie verbinde ich mein Bankkonto") == [
        "Wie verbinde ich mein Bankkonto"
    ]
    assert questions("Bonjour. Je suis client depuis 2020. Je voudrais changer mon adresse.") == [
        "Je voudrais changer mon adresse."
    ]


def test_a_language_without_rules_is_not_read_by_english_ones(analyzer: SentimentAnalyzer) -> None:
    # Dutch "die" is "that"; no rules are shipped for Dutch, so its words say nothing
    unread = analyzer.analyze("Die factuur klopt niet en dat is ridicuul", "nl")
    assert unread.polarity == 0.0 and unread.intent is Intent.OTHER
    # what needs no words still counts: emoji VADER knows ("angry face"), "!!!", capitals, "?"
    assert analyzer.analyze("DE FACTUUR KLOPT NIET!!! 😠", "nl").frustration >= FRUSTRATED
    assert analyzer.analyze("Hoe koppel ik mijn bank?", "nl").intent is Intent.QUESTION


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Hallo!", SmallTalk.GREETING),
        ("Guten Morgen zusammen", SmallTalk.GREETING),
        ("¡Hola! ¿Qué tal?", SmallTalk.GREETING),
        ("Bonjour à tous", SmallTalk.GREETING),
        ("Olá, tudo bem?", SmallTalk.GREETING),
        ("Vielen Dank!", SmallTalk.THANKS),
        ("muchas gracias por la ayuda", SmallTalk.THANKS),
        ("Merci beaucoup pour votre aide", SmallTalk.THANKS),
        ("Muito obrigada!", SmallTalk.THANKS),
        ("Au revoir", SmallTalk.GOODBYE),
        ("alles klar", SmallTalk.ACKNOWLEDGEMENT),
    ],
)
def test_small_talk_in_every_shipped_language(text: str, kind: SmallTalk) -> None:
    assert small_talk(text) is kind


@pytest.mark.parametrize(
    "text", ["Hallo, meine Bestellung 123 fehlt", "Gracias, pero la factura está mal", "Bonjour, comment je paie ?"]
)
def test_more_than_small_talk_in_another_language_is_not(text: str) -> None:
    assert small_talk(text) is None


@pytest.mark.parametrize("language", ["de", "es", "fr", "pt"])
def test_held_out_messages_are_read_at_least_as_measured(analyzer: SentimentAnalyzer, language: str) -> None:
    """A floor under the bench's held-out figures (tests/bench/bench_sentiment_languages.py):
    each label found in at least half its messages and never fewer than read as English, and
    no label read where it is not, in the language's own reading."""
    held_out = [message for message in load() if message.held_out and message.language == language]
    read = scores(held_out, lambda message: analyzer.analyze(message.text, message.language))
    as_english = scores(held_out, lambda message: analyzer.analyze(message.text, "en"))
    for label in LABELS:
        assert read[label].found >= max(read[label].labelled / 2, as_english[label].found), label
        assert read[label].false == 0, label


def test_frustration_phrases_of_a_language_replace_only_its_own() -> None:
    settings = Settings.model_validate({"sentiment": {"frustration_phrases_by_language": {"IT": ["non funziona"]}}})
    phrases = settings.sentiment.frustration_phrases_by_language
    assert phrases["it"] == ["non funziona"] and "immer noch nicht" in phrases["de"]
    analyzer = SentimentAnalyzer(settings.sentiment)
    assert analyzer.analyze("Ancora non funziona", "it").frustration >= 0.3
