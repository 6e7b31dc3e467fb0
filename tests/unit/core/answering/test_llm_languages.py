"""The LLM in the customer's language: the prompt names it and the reply is in it, citing the
(English) passages; translating for staff and for customers. The real AsyncOpenAI client
against the local fake OpenAI server; assertions on the requests that crossed the wire."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest
from pydantic import SecretStr

from core.answering.llm_responder import DATA_CLOSE, DATA_OPEN, SYSTEM_PROMPT, LlmResponder
from core.messages import Citation
from core.settings import LlmSettings
from core.turn_context import TurnContext
from knowledge.hits import Hit
from tests.fakes.openai_server import FakeOpenAI, Response, Text

RESET = Hit(
    chunk_id="reset-0",
    source="reset.md",
    title="Reset",
    section="How to reset",
    text="Click **Forgot password?** on the sign-in page.",
    score=0.9,
    relevance=0.9,
)
ANSWERS = {
    "German": "Klicken Sie auf der Anmeldeseite auf **Forgot password?** [1].",
    "Spanish": "Haga clic en **Forgot password?** en la página de inicio de sesión [1].",
}


def answer_in_the_language_asked(body: Mapping[str, Any]) -> Response:
    """A model that replies in the language its system prompt asks for (English otherwise)."""
    asked = re.search(r"reply in (\w+)\.", body["messages"][0]["content"])
    return Text(ANSWERS.get(asked.group(1), "Click **Forgot password?** [1].") if asked else "Click [1].")


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    server = FakeOpenAI()
    await server.start()
    server.otherwise = answer_in_the_language_asked
    yield server
    await server.stop()


@pytest.fixture
async def responder(fake: FakeOpenAI) -> AsyncIterator[LlmResponder]:
    made = LlmResponder(LlmSettings(base_url=fake.base_url, api_key=SecretStr("sk-test"), max_retries=0, timeout_s=5))
    yield made
    await made.aclose()


async def search(_: str) -> list[Hit]:
    return []


@pytest.mark.parametrize(("language", "name"), [("de", "German"), ("es", "Spanish")])
async def test_the_reply_is_in_the_customers_language_citing_the_english_passage(
    fake: FakeOpenAI, responder: LlmResponder, language: str, name: str
) -> None:
    question = {"de": "Wie setze ich mein Passwort zurück?", "es": "¿Cómo restablezco mi contraseña?"}[language]
    context = TurnContext(message_id=1, text=question, language=language)
    outcome = await responder.respond(context, hits=[RESET], search=search)
    assert outcome.reply.text == ANSWERS[name]
    assert outcome.reply.citations == (Citation("reset.md", "Reset", "How to reset", score=0.9),)
    assert not outcome.declined
    (request,) = fake.requests
    system = request.body["messages"][0]["content"]
    assert system.startswith(SYSTEM_PROMPT)  # the fixed prefix stays cacheable
    assert f"The customer writes in {name}; reply in {name}." in system
    assert "keep the quote in its own language" in system


async def test_without_a_known_language_the_prompt_is_the_fixed_one(fake: FakeOpenAI, responder: LlmResponder) -> None:
    await responder.respond(TurnContext(message_id=1, text="ok [1]"), hits=[RESET], search=search)
    assert fake.requests[0].body["messages"][0]["content"] == SYSTEM_PROMPT


async def test_a_translation_names_both_languages_and_carries_the_text_as_data(
    fake: FakeOpenAI, responder: LlmResponder
) -> None:
    fake.script(Text("My account is locked."))
    translated = await responder.translate("Mein Konto ist gesperrt.", into="en", source="de")
    assert translated == "My account is locked."
    (request,) = fake.requests
    system, user = request.body["messages"]
    assert "into English from German" in system["content"]
    assert user["content"] == f"{DATA_OPEN}\nMein Konto ist gesperrt.\n{DATA_CLOSE}"
    assert "tools" not in request.body
