"""Customers' files take turns on the converter processes: one customer's slow files never
hold another customer's file behind them, and a message's files stop at its budget. With the
real converter (pebble, markitdown) and a file that is genuinely slow to read."""

from __future__ import annotations

import asyncio

import pytest

from core.answering.attachments import AttachmentReader, FairSlots
from core.messages import Attachment
from core.settings import AttachmentSettings
from core.turn_context import AttachmentText
from tests.unit.core.answering.test_attachments import make_pdf, text_file

HEAVY_PAGE = make_pdf(["word " * 100_000], compress=True)
"""One page with 500,000 glyphs: 1.4 KB compressed, ≈ 40 s of CPU for markitdown to lay out."""


def heavy(name: str) -> Attachment:
    return Attachment(name, "application/pdf", HEAVY_PAGE)


async def test_another_contacts_small_file_is_read_while_one_contacts_slow_files_convert() -> None:
    """The probe: five slow files in one message held another customer's 50-byte file 110 s."""
    reader = AttachmentReader(AttachmentSettings(timeout_s=600, message_timeout_s=3000))
    ada = asyncio.create_task(reader.read_all([heavy(f"sheet{i}.pdf") for i in range(5)], contact="ada"))
    bea = asyncio.create_task(reader.read_all([text_file("note.txt", "The app says BD-4012")], contact="bea"))
    try:
        done, _ = await asyncio.wait({ada, bea}, return_when=asyncio.FIRST_COMPLETED)
        assert done == {bea}  # queued behind ada's five, yet read while ada's files still convert
        assert bea.result() == (AttachmentText("note.txt", "The app says BD-4012"),)
    finally:
        ada.cancel()
        await reader.aclose()


@pytest.mark.slow("waits out a message's 2 s budget for its files")
async def test_a_messages_files_stop_at_its_budget_and_say_so() -> None:
    reader = AttachmentReader(AttachmentSettings(message_timeout_s=2))
    try:
        results = await reader.read_all([heavy("a.pdf"), heavy("b.pdf"), text_file("c.txt", "late")], contact="ada")
    finally:
        await reader.aclose()
    budget = "was not read: the files of one message may take 2 seconds in all"
    assert results == tuple(AttachmentText(name, None, f"{name} {budget}") for name in ("a.pdf", "b.pdf", "c.txt"))


async def test_a_freed_slot_goes_to_the_contact_served_least_recently() -> None:
    slots = FairSlots(1, per_key=1)
    served: list[str] = []
    release = asyncio.Event()

    async def use(key: str, label: str) -> None:
        await slots.take(key)
        served.append(label)
        await release.wait()
        slots.give_back(key)

    tasks = [
        asyncio.create_task(use(key, label))
        for key, label in [
            ("ada", "ada1"),
            ("ada", "ada2"),
            ("ada", "ada3"),
            ("bea", "bea1"),
            ("cy", "cy1"),
            ("bea", "bea2"),
        ]
    ]
    await asyncio.sleep(0)  # each has asked, in this order; ada1 holds the slot
    release.set()
    await asyncio.gather(*tasks)
    assert served == ["ada1", "bea1", "cy1", "ada2", "bea2", "ada3"]


async def test_a_contact_holds_at_most_its_share_of_the_slots() -> None:
    slots = FairSlots(3, per_key=2)
    await slots.take("ada")
    await slots.take("ada")
    third = asyncio.create_task(slots.take("ada"))
    await slots.take("bea")  # the last slot: ada's third waits for one of ada's own
    assert not third.done()
    slots.give_back("ada")
    await third


async def test_a_waiter_cancelled_takes_no_slot() -> None:
    slots = FairSlots(1, per_key=1)
    await slots.take("ada")
    waiting = asyncio.create_task(slots.take("bea"))
    await asyncio.sleep(0)  # bea is in line
    waiting.cancel()
    slots.give_back("ada")
    await asyncio.wait_for(slots.take("cy"), timeout=None)  # the slot went to cy, not to bea's cancelled wait
