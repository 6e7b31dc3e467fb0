"""`supporthub sandbox`: the hub with every channel against the local stand-ins, driven through
the sandbox page's API as a person would — a question on each channel, then a staff reply in
the case thread back to the customer; and a plug-in channel that brings its own pane."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from core.sandbox.session import Sandbox
from core.settings import ContactSettings, HandoffSettings, Settings
from tests.cli_runner import supporthub, without_supporthub_environment
from tests.conftest import SAMPLE_KNOWLEDGE
from tests.integration.hub_processes import READY_TIMEOUT_S, SUPPORTHUB
from tests.integration.sandbox_hub import running_sandbox
from tests.ports import free_port
from tests.settle import until

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "tests" / "fixtures" / "plugin_channel"

Transcript = dict[str, list[dict[str, Any]]]


@pytest.fixture
async def sandbox_url(make_settings: Callable[..., Settings], tmp_path: Path) -> AsyncIterator[str]:
    async with running_sandbox(make_settings(), tmp_path / "sandbox.db") as url:
        yield url


async def transcript(session: aiohttp.ClientSession, url: str) -> Transcript:
    async with session.get(f"{url}/sandbox/api/transcript") as response:
        assert response.status == 200
        found: Transcript = await response.json()
        return found


async def says(session: aiohttp.ClientSession, url: str, pane: str, **body: str) -> None:
    async with session.post(f"{url}/sandbox/api/{pane}", json=body) as response:
        assert response.status == 200, await response.text()


async def hub_said(session: aiohttp.ClientSession, url: str, pane: str, count: int) -> list[dict[str, Any]]:
    """The hub's messages in `pane`, once there are `count` of them."""
    found: list[dict[str, Any]] = []

    async def enough() -> bool:
        nonlocal found
        found = [m for m in (await transcript(session, url))[pane] if m["who"] == "hub"]
        return len(found) >= count

    await until(enough, timeout=90)
    return found


async def test_a_question_on_each_channel_and_a_staff_reply_back(sandbox_url: str) -> None:
    url = sandbox_url
    async with aiohttp.ClientSession() as session:
        await says(session, url, "telegram", text="How do I reset my password?")
        await says(session, url, "sms", text="How much is the Business plan per month?")
        await says(session, url, "email", subject="Exports", text="Hi, how can I export my data?")
        await says(session, url, "whatsapp", text="Can I change my plan mid-month?")
        await says(session, url, "messenger", text="How do I export my data?")
        await says(session, url, "instagram", text="How do I reset my password?")
        await says(session, url, "discord", text="How much is the Business plan per month?")
        await says(session, url, "teams", text="How do I export my data?")

        [telegram] = await hub_said(session, url, "telegram", 1)
        assert "<b>Reset your password" in telegram["html"]  # Telegram HTML, as the adapter sends it
        [sms] = await hub_said(session, url, "sms", 1)
        assert "Business: Monthly billing" in sms["text"] and sms["segments"] >= 1
        [mail] = await hub_said(session, url, "email", 1)
        assert mail["subject"] == "Re: Exports" and mail["in_reply_to"].endswith("@customer.example>")
        assert "Export" in mail["text"]
        [whatsapp] = await hub_said(session, url, "whatsapp", 1)
        assert "plan" in whatsapp["text"].lower()  # the text message the Graph API stand-in took
        [messenger] = await hub_said(session, url, "messenger", 1)
        assert "export" in messenger["text"].lower() and "**" not in messenger["text"]
        [instagram] = await hub_said(session, url, "instagram", 1)
        assert "password" in instagram["text"].lower()
        [discord] = await hub_said(session, url, "discord", 1)
        assert "Business" in discord["text"]  # posted by discord.py in the thread its question opened
        [teams] = await hub_said(session, url, "teams", 1)
        assert "export" in teams["text"].lower()  # the markdown message the Bot Connector stand-in took

        await says(session, url, "telegram", text="I want to talk to a person please")
        cards = [m for m in await hub_said(session, url, "staff", 1) if m["method"] == "chat.postMessage"]
        assert "telegram" in cards[0]["text"]
        await says(session, url, "staff", thread_ts=cards[0]["ts"], text="Hi Ada, Sam here. How can I help?")

        replies = await hub_said(session, url, "telegram", 3)
        assert replies[-1]["html"] == "Hi Ada, Sam here. How can I help?"


async def test_the_email_pane_writes_to_the_operators_support_address(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """Issue 60: the pane said the sample company's address whatever the operator had set."""
    settings = make_settings(handoff=HandoffSettings(contact=ContactSettings(email="help@vetclinic.example")))
    async with running_sandbox(settings, tmp_path / "sandbox.db") as url, aiohttp.ClientSession() as session:
        async with session.get(f"{url}/sandbox/api/panes") as response:
            panes = {pane["name"]: pane for pane in await response.json()}
        assert panes["email"]["role"] == "you write to help@vetclinic.example"
        await says(session, url, "email", subject="Opening hours", text="When are you open?")
        [mail] = await hub_said(session, url, "email", 1)
    assert "<help@vetclinic.example>" in mail["from"] and mail["meta"].startswith("From: ")


async def test_what_the_page_sends_is_checked(sandbox_url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for pane, body, status, reason in [
            ("sms", {"text": ""}, 400, "text must be 1 to 4000 characters"),
            ("email", {"subject": "Hi\nBcc: x@example.com", "text": "hello"}, 400, "subject must be one line"),
            ("staff", {"text": "hello"}, 400, "thread_ts names the case card"),
            ("fax", {}, 404, "no pane 'fax'"),
        ]:
            async with session.post(f"{sandbox_url}/sandbox/api/{pane}", json=body) as response:
                assert (response.status, reason in await response.text()) == (status, True), pane
        form = f"{sandbox_url}/sandbox/api/sms"
        async with session.post(form, data='{"text": "hi"}', headers={"Content-Type": "text/plain"}) as response:
            assert response.status == 415  # what a form on another site could send without asking
        async with session.post(form, json={"text": "hi"}, headers={"Host": "rebound.example"}) as response:
            assert response.status == 403
        assert await transcript(session, sandbox_url) == {
            "telegram": [],
            "sms": [],
            "email": [],
            "whatsapp": [],
            "messenger": [],
            "instagram": [],
            "discord": [],
            "teams": [],
            "staff": [],
        }


def test_the_sandbox_refuses_an_address_beyond_this_machine(tmp_path: Path) -> None:
    result = supporthub(
        "sandbox", "--host", "0.0.0.0", env={**without_supporthub_environment(), "SUPPORTHUB_DATA_DIR": str(tmp_path)}
    )
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "supporthub: the sandbox listens on loopback only (127.0.0.1, ::1 or localhost), not '0.0.0.0': "
        "its stand-ins accept any message as a platform's"
    ]


async def test_the_stand_ins_listen_on_loopback_only() -> None:
    stand_ins = Sandbox()
    await stand_ins.start()
    try:
        sections = {
            name: pane.section(hub_url="http://127.0.0.1:1", operator=Settings()).model_dump()
            for name, pane in stand_ins.panes.items()
        }
        urls = [
            sections[name][key] for name, key in [("telegram", "api_url"), ("sms", "api_url"), ("slack", "api_url")]
        ]
        urls += [sections[name]["graph_url"] for name in ("whatsapp", "messenger", "instagram")]
        urls += [sections["discord"]["api_url"], sections["discord"]["gateway_url"].replace("ws://", "http://")]
        urls += [sections["teams"]["login_url"], sections["teams"]["openid_metadata_url"]]
        assert sections["teams"]["service_url_hosts"] == sections["teams"]["file_hosts"] == ["127.0.0.1"]
        assert all(str(url).startswith("http://127.0.0.1:") for url in urls), urls
        assert sections["email"]["smtp_host"] == "127.0.0.1"
    finally:
        await stand_ins.stop()


@pytest.mark.slow(reason="starts `supporthub sandbox` in a child interpreter with the plug-in on its path: ~20 s")
async def test_a_plugin_channel_brings_its_own_stand_in_and_pane(indexed_data_dir: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(indexed_data_dir, data_dir)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {name: value for name, value in os.environ.items() if not name.startswith("SUPPORTHUB_")}
    env |= {
        "PYTHONPATH": os.pathsep.join([str(PLUGIN), str(ROOT)]),
        "SUPPORTHUB_DATA_DIR": str(data_dir),
        "SUPPORTHUB_KNOWLEDGE__PATHS": json.dumps([str(SAMPLE_KNOWLEDGE)]),
    }
    log = tmp_path / "sandbox.log"
    with log.open("wb") as out:
        process = subprocess.Popen([SUPPORTHUB, "sandbox", "--port", str(port)], env=env, stdout=out, stderr=out)
    try:
        async with aiohttp.ClientSession() as session:

            async def panes() -> list[str] | None:
                assert process.poll() is None, log.read_text()
                try:
                    async with session.get(f"{url}/sandbox/api/panes") as response:
                        return [pane["name"] for pane in await response.json()] if response.status == 200 else None
                except aiohttp.ClientConnectionError:
                    return None

            shown = await until(panes, timeout=READY_TIMEOUT_S, what="the sandbox page", every=0.2)
            assert shown == [
                "discord",
                "echo",
                "email",
                "instagram",
                "messenger",
                "sms",
                "teams",
                "telegram",
                "whatsapp",
                "staff",
            ]
            await says(session, url, "echo", text="How do I reset my password?")
            [answer] = await hub_said(session, url, "echo", 1)
        assert "password" in answer["text"].lower()
        stand_ins = "Discord, Echo, Email, Instagram, Messenger, SMS, Teams, Telegram, WhatsApp, Slack staff desk"
        assert f"SANDBOX: {stand_ins} are local stand-ins" in log.read_text()
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 30)
