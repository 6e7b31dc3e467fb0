"""The screenshots in the README and the docs, made the way a user sees them: `supporthub serve`
on the sample help centre, a few customer questions through the REST API, then the widget and
the dashboard in headless Chromium. Run with `make screenshots` (needs Debian's chromium);
writes docs/images/*.png."""

from __future__ import annotations

import asyncio
import os
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
    "I want to talk to a human please",
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


async def shoot(url: str) -> None:
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

        await page.goto(f"{url}/admin")
        await page.get_by_label("Admin token").fill(TOKEN)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page).to_have_url(f"{url}/admin")
        await page.screenshot(path=str(IMAGES / "dashboard.png"), full_page=False)
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
        server = subprocess.Popen([SUPPORTHUB, "serve", "--port", str(port)], cwd=ROOT, env=env)
        try:
            await ready(url)
            await customers(url)
            await shoot(url)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"wrote {', '.join(sorted(p.name for p in IMAGES.glob('*.png')))} in {IMAGES}")


if __name__ == "__main__":
    asyncio.run(main())
