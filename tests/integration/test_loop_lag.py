"""No one message may hold the event loop: every conversation, /healthz included, waits for a
message the loop is busy with. A hostile message goes in through each way a customer writes,
the test waits for its reply (proof it was processed), and the longest time the loop was held
meanwhile must stay under 100 ms (`tests.loop_lag` says how a busy machine is kept out of it).

4,000 emoji (the API's and the widget's longest text) held the loop 7.2-7.6 s in VADER here
(12.5 s on the machine of the report), 6,000 in an email 50 s, and 60 KB of HTML mail 0.2 s in
the mail parser. Now the longest hold is 8-12 ms, also with two CPU-bound processes running
beside the test on this 2-core machine (wall-clock gaps up to 38 ms there): the 100 ms limit
leaves a margin of eight or more.
"""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import pytest

from channels.email.stand_in import SmtpRelay
from core.cli.server import create_app
from core.settings import Settings
from tests.app_client import AppClient
from tests.integration.test_api import ask
from tests.integration.test_email import body_text, deliver, mail, port, settings_for  # noqa: F401 — fixtures
from tests.loop_lag import loop_watched

MAX_HOLD_S = 0.1
KISSES = "\N{FACE THROWING A KISS}"


async def test_a_message_of_emoji_through_the_api_does_not_hold_the_loop(client: AppClient) -> None:
    await ask(client, "How do I reset my password?")  # first use of everything, outside the watch
    async with loop_watched() as watch:
        reply = (await ask(client, KISSES * 4000))["reply"]
    assert reply["text"]
    assert watch.longest_hold < MAX_HOLD_S, f"the loop was held {watch.longest_hold * 1000:.0f} ms"


async def test_a_message_of_emoji_through_the_widget_does_not_hold_the_loop(client: AppClient) -> None:
    ws = await client.ws_connect("/widget/ws")
    await ws.send_json({"type": "hello", "token": None, "after": 0})
    assert (await ws.receive_json())["type"] == "session"
    await ws.send_json({"type": "message", "id": "warm-up", "text": "How do I reset my password?"})
    await _bot_message(ws)
    async with loop_watched() as watch:
        await ws.send_json({"type": "message", "id": "kisses", "text": KISSES * 4000})
        reply = await _bot_message(ws)
    assert reply["text"]
    assert watch.longest_hold < MAX_HOLD_S, f"the loop was held {watch.longest_hold * 1000:.0f} ms"


def _html_mail() -> EmailMessage:
    """An HTML-only mail just under 64 KB, the size below which mail used to be parsed on the loop
    (BeautifulSoup spent 0.2-0.35 s on it there)."""
    message = mail("", subject="formatted")
    message.set_content("<div>How do I <b>reset</b> my password?</div>" * 1400, subtype="html")
    return message


@pytest.mark.parametrize(
    "hostile", [lambda: mail(KISSES * 6000, subject="xoxo"), _html_mail], ids=["6000 emoji", "60 KB of HTML"]
)
async def test_an_email_does_not_hold_the_loop(
    hostile: Callable[[], EmailMessage],
    aiohttp_client: Callable[..., Any],
    settings_for: Callable[..., Settings],
    relay: SmtpRelay,
    port: int,
) -> None:
    await aiohttp_client(create_app(settings_for()))
    await deliver(port, mail("How do I reset my password?"))
    await relay.wait_for(1, timeout=30)
    async with loop_watched() as watch:
        await deliver(port, hostile())
        answer = (await relay.wait_for(2, timeout=120))[1]
    assert body_text(answer.message)
    assert watch.longest_hold < MAX_HOLD_S, f"the loop was held {watch.longest_hold * 1000:.0f} ms"


async def _bot_message(ws: Any) -> dict[str, Any]:
    while True:
        frame = await ws.receive_json(timeout=120)
        if frame["type"] == "message" and frame["author"] == "bot":
            return frame  # type: ignore[no-any-return]
