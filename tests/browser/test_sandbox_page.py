"""The sandbox page in headless Chromium: a customer asks for a person by SMS, staff pick the
case and reply from the page, and the reply reaches the SMS pane."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from core.settings import Settings
from tests.browser.conftest import TIMEOUT_MS
from tests.integration.sandbox_hub import running_sandbox

pytestmark = pytest.mark.browser


@pytest.fixture
async def sandbox_page(make_settings: Callable[..., Settings], tmp_path: Path, browser: Any) -> AsyncIterator[Any]:
    async with running_sandbox(make_settings(), tmp_path / "sandbox.db") as url:
        page = await browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(f"{url}/sandbox")
        yield page
        await page.context.close()
        assert errors == []


async def write(page: Any, pane: str, text: str) -> None:
    form = page.locator(f'form[data-pane="{pane}"]')
    await form.locator("textarea").fill(text)
    await form.locator("button").click()


async def test_staff_answer_the_first_case_from_the_page_and_the_texter_gets_it(sandbox_page: Any) -> None:
    page = sandbox_page
    await write(page, "sms", "I want to talk to a person please")
    sms = page.get_by_test_id("log-sms").locator('[data-who="hub"]')
    await expect(sms.first).to_contain_text("passed this conversation to a person", timeout=TIMEOUT_MS)
    case = page.get_by_test_id("choice-thread_ts")
    await expect(case.locator("option")).to_have_text([re.compile(r"^Case 1: .+ on sms$")], timeout=TIMEOUT_MS)
    card = page.get_by_test_id("log-staff").locator('[data-who="hub"]').first
    await expect(card).to_contain_text("Reason: The customer asked for a person.")  # as Slack shows it
    assert not re.search(r"\*Reason|```", await card.inner_text())

    await write(page, "staff", "Hi, Sam here. Which plan are you on?")

    await expect(sms.last).to_have_text(re.compile("Sam here. Which plan are you on?"), timeout=TIMEOUT_MS)
    staff = page.get_by_test_id("log-staff").locator('[data-who="person"]')
    await expect(staff).to_have_text(["Hi, Sam here. Which plan are you on?"])
