"""A passage quoted in another language than the customer's is introduced as such, in the
customer's language (hand-built hits, as in test_offline_responder)."""

from __future__ import annotations

import pytest

from core.answering.offline_responder import OfflineResponder
from core.languages import speaking
from core.settings import AnswerSettings
from knowledge.hits import Hit

STEPS = """1. Go to the sign-in page.
2. Click the **Forgot password?** link under the password field.
3. Open the email and click **Choose a new password**."""


def reset_hit(*, language: str | None, source: str = "docs/reset-your-password.md") -> Hit:
    return Hit(
        chunk_id="abc-def-0",
        source=source,
        title="Reset your password",
        section="How to reset your password",
        text=STEPS,
        score=0.8,
        relevance=0.8,
        heading_relevance=0.8,
        coverage=1.0,
        language=language,
    )


def answer(question: str, hit: Hit, *, customer: str) -> str:
    with speaking(customer):
        reply = OfflineResponder(AnswerSettings()).answer(question, [hit])
    assert not reply.handoff
    return reply.text


@pytest.mark.parametrize(
    ("customer", "question", "introduction"),
    [
        ("de", "Wie setze ich mein Passwort zurück?", "Der folgende Auszug ist auf Englisch."),
        ("es", "¿Cómo restablezco mi contraseña?", "El fragmento citado a continuación está en inglés."),
        ("fr", "Comment réinitialiser mon mot de passe ?", "Le passage cité ci-dessous est en anglais."),
        ("pt", "Como redefino minha senha?", "O trecho citado abaixo está em inglês."),
    ],
)
def test_an_english_passage_is_introduced_in_the_customers_language(
    customer: str, question: str, introduction: str
) -> None:
    text = answer(question, reset_hit(language=None), customer=customer)

    assert text.startswith(f"{introduction}\n\n")
    assert "> 2. Click the **Forgot password?** link under the password field." in text


def test_a_passage_in_the_customers_own_language_needs_no_introduction() -> None:
    german = answer("Wie setze ich mein Passwort zurück?", reset_hit(language="de"), customer="de")
    english = answer("How do I reset my password?", reset_hit(language=None), customer="en")

    assert german.startswith("Dazu steht in unserem Hilfe-Center unter **"), (
        german
    )  # the lead in the customer's language
    assert "Auszug" not in german
    assert english.startswith("Here's what our help centre says in **Reset your password › How to reset")


def test_an_english_customer_is_told_a_german_passage_is_in_german() -> None:
    text = answer("How do I reset my password?", reset_hit(language="de"), customer="en")

    assert text.startswith("The passage quoted below is in German.\n\n")
