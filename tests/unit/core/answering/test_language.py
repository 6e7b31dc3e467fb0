"""Which language a customer writes in: sure of a sentence, never of a word or a code."""

from __future__ import annotations

import pytest

from core.answering.language import message_language

CANDIDATES = ("en", "de", "es", "fr", "pt", "it", "nl")


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Wie verbinde ich mein Bankkonto?", "de"),
        ("¿Cuánto cuesta el plan Solo al mes?", "es"),
        ("Bonjour, je ne peux pas me connecter à mon compte", "fr"),
        ("Obrigado, como faço para cancelar a assinatura?", "pt"),
        ("Where is my invoice for last month?", "en"),
        ("My account was charged twice this month", "en"),
    ],
)
def test_a_sentence_is_read_in_its_language(text: str, language: str) -> None:
    assert message_language(text, CANDIDATES) == language


@pytest.mark.parametrize("text", ["ok", "danke", "Hola", "👍", "ERR_CONN_REFUSED 0x8007 FAILED", "12345"])
def test_a_word_or_a_code_is_no_language(text: str) -> None:
    assert message_language(text, CANDIDATES) is None


def test_a_customer_who_changes_language_is_sure_of_the_new_one() -> None:
    assert message_language("¿Puedo pagar con tarjeta de crédito?", CANDIDATES) == "es"


def test_only_the_candidates_are_chosen_among() -> None:
    assert message_language("Vorrei annullare il mio abbonamento", ("en", "de")) in {None, "en", "de"}
    assert message_language("Vorrei annullare il mio abbonamento", CANDIDATES) == "it"
