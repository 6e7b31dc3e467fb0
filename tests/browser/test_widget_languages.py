"""The widget in the customer's language, in headless Chromium against the real hub: first the
browser's, then the conversation's once the hub has answered in it."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.conftest import Launch, Live
from tests.browser.test_widget_browser import ask, open_chat

pytestmark = pytest.mark.browser


@pytest.fixture
async def live_server(launch: Launch) -> Live:
    return await launch()


async def page_in(browser: Any, locale: str) -> Any:
    """A page of a browser whose languages are `locale`'s (navigator.languages, Accept-Language)."""
    context = await browser.new_context(locale=locale)
    page = await context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    return page


async def test_a_german_browser_shows_the_widget_in_german(live_server: Live, browser: Any) -> None:
    page = await page_in(browser, "de-DE")
    await page.goto(live_server.url + "/")
    bubble = page.get_by_test_id("bubble")
    await expect(bubble).to_have_attribute("aria-label", "Chat öffnen")
    await bubble.click()
    await expect(page.get_by_test_id("input")).to_have_attribute("placeholder", "Stellen Sie eine Frage\u2026")
    await expect(page.get_by_test_id("send")).to_have_attribute("aria-label", "Nachricht senden")
    await expect(page.get_by_test_id("greeting")).to_have_text(
        "Fragen Sie uns einfach \u2013 wir antworten meist sofort."
    )
    await expect(page.locator("#sh-title")).to_have_text("Hilfe")
    await expect(bubble).to_have_attribute("aria-label", "Chat schließen")

    await ask(page, "Wie setze ich mein Passwort zurück?")
    bot = page.locator('[data-testid="message"][data-author="bot"]')
    await expect(bot).to_have_count(1)
    await expect(bot.locator(".thumb").first).to_have_attribute("aria-label", "Hilfreich")
    await expect(bot.locator(".rate")).to_have_attribute("aria-label", "War diese Antwort hilfreich?")
    assert page.errors == []


async def test_a_conversation_that_turns_spanish_switches_the_widget_to_spanish(
    live_server: Live, browser: Any
) -> None:
    page = await page_in(browser, "en-US")
    await open_chat(page, live_server.url)
    box = page.get_by_test_id("input")
    await expect(box).to_have_attribute("placeholder", "Ask a question\u2026")
    bot = page.locator('[data-testid="message"][data-author="bot"]')

    await ask(page, "how do I reset my password?")
    await expect(bot).to_have_count(1)
    await expect(box).to_have_attribute("placeholder", "Ask a question\u2026")

    await ask(page, "¿Cuánto cuesta el plan Solo al mes?")
    await expect(bot).to_have_count(2)
    await expect(box).to_have_attribute("placeholder", "Escriba su pregunta\u2026")
    await expect(page.get_by_test_id("send")).to_have_attribute("aria-label", "Enviar mensaje")
    await expect(page.get_by_test_id("bubble")).to_have_attribute("aria-label", "Cerrar el chat")
    # The controls already shown are said again in Spanish, the earlier answer's too.
    await expect(bot.first.locator(".thumb").first).to_have_attribute("aria-label", "Útil")
    await expect(page.locator(".root")).to_have_attribute("lang", "es")

    await page.reload()  # the conversation's language is kept over the browser's
    await expect(page.get_by_test_id("bubble")).to_have_attribute("aria-label", "Abrir el chat")
    assert page.errors == []
