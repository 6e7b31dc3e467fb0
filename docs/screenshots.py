"""The screenshots in the README and the docs, made the way a user sees them: `supporthub serve`
on the sample help centre, a few customer questions through the REST API, then the widget and
the inbox and the dashboard in headless Chromium (signed in through an invitation); then `supporthub sandbox`, a question on each channel and a
staff reply, and its page. Run with `make screenshots` (needs Debian's chromium);
writes docs/images/*.png."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import aiohttp
from playwright.async_api import async_playwright, expect

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"
SUPPORTHUB = str(Path(sys.executable).parent / "supporthub")
CHROMIUM = "/usr/bin/chromium"
TOKEN = "screenshots-admin-token"
VIEWPORT = {"width": 1200, "height": 760}
QUESTIONS = [
    "How do I reset my password?",
    "How much is the Business plan per month?",
    "Which wine goes best with salmon?",
    "My name is Maria Costa. I was charged twice this month; I want to talk to a person please.",
    "Can I export my projects to a spreadsheet?",
]


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


async def ready(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            try:
                async with session.get(f"{url}/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.5)
    raise SystemExit("supporthub serve did not become ready")


async def customers(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for number, text in enumerate(QUESTIONS):
            body = {"contact": f"screenshot-customer-{number}", "text": text}
            async with session.post(f"{url}/api/messages", json=body) as response:
                response.raise_for_status()


async def shoot(url: str, invitation: str) -> None:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = await browser.new_page(viewport=VIEWPORT)
        await page.goto(url + "/")
        await page.get_by_test_id("bubble").click()
        box = page.get_by_test_id("input")
        await box.fill("How do I reset my password?")
        await box.press("Enter")
        answer = page.locator('[data-testid="message"][data-author="bot"]')
        await expect(answer.get_by_test_id("citation").first).to_be_visible(timeout=60_000)
        await expect(page.get_by_test_id("typing")).to_be_hidden()
        await page.screenshot(path=str(IMAGES / "widget.png"))

        await page.goto(invitation)
        await page.get_by_label("Your name").fill("Ana Lima")
        await page.get_by_label("Password", exact=True).fill("screenshots-password")
        await page.get_by_label("Password again").fill("screenshots-password")
        await page.get_by_role("button", name="Join").click()
        await expect(page).to_have_url(f"{url}/admin/inbox")
        await customers(url)  # after someone joined, so the customer handed over is promised a person
        await page.get_by_role("link", name="Maria Costa").click()
        await page.get_by_label(re.compile("^Reply to")).fill(
            "Hi, I'm Ana from the support team. **What can I help with?**"
        )
        await page.get_by_role("button", name="Send reply").click()
        await expect(page.locator(".message.staff")).to_be_visible()
        await page.get_by_label(re.compile("^Reply to")).fill("The export is under Settings > Projects.")
        await page.evaluate("window.scrollTo(0, 0)")
        await page.screenshot(path=str(IMAGES / "inbox.png"), full_page=False)
        await page.goto(f"{url}/admin")
        await page.screenshot(path=str(IMAGES / "dashboard.png"), full_page=False)
        await browser.close()


async def shoot_sandbox(url: str) -> None:
    """The sandbox page after a question on each channel and a staff reply to a case."""
    async with aiohttp.ClientSession() as session:
        for pane, body in [
            ("telegram", {"text": "How do I reset my password?"}),
            ("sms", {"text": "How much is the Business plan per month?"}),
            ("email", {"subject": "Exports", "text": "Hi! How can I export all our projects?"}),
            ("whatsapp", {"text": "Can I change my plan mid-month?"}),
            ("sms", {"text": "I want to talk to a person please"}),
        ]:
            async with session.post(f"{url}/sandbox/api/{pane}", json=body) as response:
                response.raise_for_status()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = await browser.new_page(viewport={"width": 1600, "height": 820})
        await page.goto(f"{url}/sandbox")
        case = page.get_by_test_id("choice-thread_ts")
        await expect(case.locator("option").first).to_have_text(re.compile(r"^Case 1: "), timeout=90_000)
        for pane in ("telegram", "sms", "email", "whatsapp"):
            log = page.get_by_test_id(f"log-{pane}")
            await expect(log.locator('[data-who="hub"]').first).to_be_visible(timeout=90_000)
        staff = page.locator('form[data-pane="staff"] textarea')
        await staff.fill("Hi, Sam from Brightdesk here. Which plan are you on?")
        await page.locator('form[data-pane="staff"] button').click()
        sms = page.get_by_test_id("log-sms").locator('[data-who="hub"]')
        await expect(sms.last).to_contain_text("Sam from Brightdesk", timeout=90_000)
        await page.screenshot(path=str(IMAGES / "sandbox.png"))
        for pane in ("telegram", "sms", "email", "whatsapp", "staff"):  # each channel's page shows its own
            await page.get_by_test_id(f"pane-{pane}").screenshot(path=str(IMAGES / f"sandbox-{pane}.png"))
        await browser.close()


async def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data_dir:
        env = {
            **os.environ,
            "SUPPORTHUB_DATA_DIR": data_dir,
            "SUPPORTHUB_ADMIN__TOKEN": TOKEN,
            "SUPPORTHUB_LOG__LEVEL": "WARNING",
        }
        subprocess.run([SUPPORTHUB, "reindex"], cwd=ROOT, env=env, check=True)
        invited = subprocess.run(
            [SUPPORTHUB, "staff", "invite", "ana@example.com", "--role", "admin"],
            cwd=ROOT,
            env={**env, "SUPPORTHUB_ADMIN__PUBLIC_URL": url},
            check=True,
            capture_output=True,
            text=True,
        )
        server = subprocess.Popen([SUPPORTHUB, "serve", "--port", str(port)], cwd=ROOT, env=env)
        try:
            await ready(url)
            await shoot(url, invited.stdout.split()[-1])
        finally:
            server.terminate()
            server.wait(timeout=30)
        sandbox = subprocess.Popen([SUPPORTHUB, "sandbox", "--port", str(port)], cwd=ROOT, env=env)
        try:
            await ready(url)
            await shoot_sandbox(url)
        finally:
            sandbox.terminate()
            sandbox.wait(timeout=30)
    print(f"wrote {', '.join(sorted(p.name for p in IMAGES.glob('*.png')))} in {IMAGES}")


if __name__ == "__main__":
    asyncio.run(main())
