"""Two customers writing through the API at once, with the real converter: one customer's
message of slow files does not hold another customer's small file behind it (the probe: a
50-byte file waited 110 s behind five slow spreadsheets)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from typing import Any

from core.cli.server import create_app
from core.settings import AttachmentSettings, Settings
from core.store.db import AttachmentRow
from tests.app_client import AppClient
from tests.integration.app_db import count
from tests.settle import until
from tests.unit.core.answering.test_attachment_turns import HEAVY_PAGE


async def test_a_small_file_is_answered_while_another_customers_slow_files_convert(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(attachments=AttachmentSettings(timeout_s=600, message_timeout_s=3000))
    client: AppClient = await aiohttp_client(create_app(settings))
    slow = [{"filename": f"sheet{i}.pdf", "data": base64.b64encode(HEAVY_PAGE).decode()} for i in range(5)]
    ada = asyncio.create_task(
        client.post("/api/messages", json={"contact": "ada", "text": "see these", "attachments": slow})
    )

    async def adas_files_are_in() -> bool:
        if await count(client, AttachmentRow) >= 5:
            return True
        if ada.done():  # her request ended without storing her files: waiting longer cannot help
            outcome = ada.exception() or f"answered {ada.result().status}"
            raise AssertionError(f"ada's message ended before her files were stored: {outcome}")
        return False

    try:
        # ada's files are in, and her turn has begun; the long bound is only a safety net against a hang
        await until(adas_files_are_in, timeout=300, what="ada's five files to be stored")
        note = base64.b64encode(b"The app says BD-4012 when I add a teammate").decode()
        response = await client.post(
            "/api/messages",
            json={"contact": "bea", "text": "see the log", "attachments": [{"filename": "note.txt", "data": note}]},
        )
        assert response.status == 200  # answered, not 202 "pending" behind ada's files
        assert (await response.json())["reply"]["text"].startswith("I've read note.txt.")
        unread = (
            AttachmentRow.filename.startswith("sheet"),
            AttachmentRow.text.is_(None),
            AttachmentRow.problem.is_(None),
        )
        assert await count(client, AttachmentRow, *unread) == 5  # ada's are still converting
    finally:
        ada.cancel()
