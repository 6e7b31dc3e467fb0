"""The `supporthub` command line."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import sys
import uuid
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import click

from core.cli.case_commands import COMMANDS as HANDOFF_COMMANDS
from core.cli.doctor_command import doctor
from core.cli.knowledge_commands import COMMANDS as KNOWLEDGE_COMMANDS
from core.cli.language_commands import COMMANDS as LANGUAGE_COMMANDS
from core.cli.outbox_commands import COMMANDS as OUTBOX_COMMANDS
from core.cli.rehearse_command import rehearse
from core.cli.sandbox_command import sandbox
from core.cli.staff_commands import COMMANDS as STAFF_COMMANDS
from core.cli.support import in_transaction, listen, uses_settings
from core.messages import Address, InboundMessage, StoredMessage, citation_json

if TYPE_CHECKING:
    from core.settings import Settings

log = logging.getLogger(__name__)


@click.group()
def main() -> None:
    """supporthub: cited answers from your help centre, on every channel."""


for command in (*KNOWLEDGE_COMMANDS, *HANDOFF_COMMANDS, *OUTBOX_COMMANDS, *STAFF_COMMANDS, *LANGUAGE_COMMANDS):
    main.add_command(command)
main.add_command(doctor)
main.add_command(sandbox)
main.add_command(rehearse)


@main.command()
@click.option("--host", default=None, help="Interface to listen on (default: server.host).")
@click.option("--port", type=int, default=None, help="Port to listen on (default: server.port).")
@uses_settings
def serve(settings: Settings, host: str | None, port: int | None) -> None:
    """Serve the hub: the web widget, the REST API and every configured channel."""
    from aiohttp import web

    from core.cli.exposure import exposure_lines
    from core.cli.server import create_app
    from core.log_context import AccessLogger
    from core.ops.glibc_malloc import limit_malloc_arenas
    from core.settings import SettingsError

    host = host or settings.server.host
    port = port or settings.server.port
    # what the hub says of its own address (an invitation's link without admin.public_url) is where it listens
    settings = settings.model_copy(update={"server": settings.server.model_copy(update={"host": host, "port": port})})
    try:
        exposure = exposure_lines(settings, host)
    except SettingsError as exc:
        click.echo(f"supporthub: invalid setting {exc}", err=True)
        sys.exit(2)
    for line in exposure:
        log.info("%s", line)  # a log line: with log.format = json, stderr is all JSON lines
    listening = listen(host, port)
    limit_malloc_arenas()  # before create_app starts a thread; after the refusals, which start none
    app = create_app(settings)
    app.on_startup.append(freeze_heap)  # after the runtime's start-up: the model and the index loaded
    web.run_app(
        app,
        sock=listening,
        access_log_class=AccessLogger,
        loop=serving_loop(),
        print=lambda _: log.info("supporthub serving on http://%s:%d", host, port),
    )


async def freeze_heap(_: object) -> None:
    """Move everything loaded at start-up out of the garbage collector's sight (`gc.freeze`):
    the index's records alone are hundreds of thousands of objects, and each full collection
    walked them all with the GIL held — 159 ms for a 50,000-chunk index beside a bare
    interpreter, 20 ms after a freeze; the event loop waited as long. Each version a re-index
    publishes is frozen once its child has finished (`core.ops.reindex_process`)."""
    gc.collect()  # garbage left by start-up is freed, not frozen
    gc.freeze()


def serving_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed (not on Windows): its wake-ups from the encoder and
    database threads and its sockets cost less CPU than asyncio's own loop — under 50 API
    clients, ~10 % more answers a second (tests/bench/bench_traffic.py)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def citation_lines(message: StoredMessage) -> list[str]:
    return [f"  [{i}] {c.title} — {c.section} ({c.source})" for i, c in enumerate(message.citations, 1)]


def reply_json(message: StoredMessage) -> dict[str, Any]:
    return {
        "text": message.text,
        "citations": [citation_json(c) for c in message.citations],
        "handoff": message.handoff,
    }


async def _ask_hub(
    settings: Settings, questions: Any, show: Callable[[StoredMessage], None], *, explain: bool = False
) -> None:
    """Send each question through the hub as one conversation and show each answer; with
    `explain`, how the offline path decided, on stderr, after each answer."""
    from core.answering.answer_explain import explanation
    from core.cli.terminal import PulledChannel, pulled_reply
    from core.ops.runtime import open_runtime

    channel = PulledChannel()
    chat_id = f"terminal-{uuid.uuid4().hex}"
    async with open_runtime(settings, {channel.name: channel}) as runtime:
        async for question in questions:
            message = InboundMessage(
                address=Address(channel.name, chat_id), external_id=uuid.uuid4().hex, sender_id=chat_id, text=question
            )
            try:
                _, reply = await pulled_reply(runtime.hub, message)
            except TimeoutError:
                raise click.ClickException("no answer within two minutes") from None
            if reply is not None:
                show(reply)
                if explain:
                    for line in await explanation(
                        question,
                        knowledge=runtime.knowledge,
                        settings=settings.answer,
                        learned=await runtime.calibration.fresh(),
                    ):
                        click.echo(line, err=True)
            else:
                click.echo("(a person from the support team has this conversation; the bot stays silent)", err=True)


@main.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the reply as JSON.")
@click.option(
    "--explain",
    is_flag=True,
    help="Also show, on stderr, each question found, how it was searched and why it was answered or declined.",
)
@uses_settings
def ask(settings: Settings, question: str, as_json: bool, explain: bool) -> None:
    """Ask one question through the same agent path as the channels."""

    async def one() -> Any:
        yield question

    def show(reply: StoredMessage) -> None:
        if as_json:
            click.echo(json.dumps(reply_json(reply), indent=2))
        else:
            click.echo(reply.text)
            for line in citation_lines(reply):
                click.echo(line)

    asyncio.run(_ask_hub(settings, one(), show, explain=explain))


@main.command()
@uses_settings
def chat(settings: Settings) -> None:
    """A conversation in the terminal, through the hub (Ctrl-D or 'quit' ends it)."""

    async def lines() -> Any:
        while True:
            try:
                line = await asyncio.to_thread(input, "you> ")
            except EOFError:
                return
            if line.strip().lower() in {"quit", "exit"}:
                return
            if line.strip():
                yield line.strip()

    def show(reply: StoredMessage) -> None:
        click.echo(f"bot> {reply.text}")
        for line in citation_lines(reply):
            click.echo(line)

    click.echo("Ask a question (Ctrl-D or 'quit' to leave).", err=True)
    asyncio.run(_ask_hub(settings, lines(), show))


@main.command()
@click.argument("contact")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@uses_settings
def forget(settings: Settings, contact: str, yes: bool) -> None:
    """Erase a contact: identities, facts, conversations, messages, files, cases, feedback.

    CONTACT is a contact id or an identity as channel:user, e.g. email:alice@example.com
    (the verified person and the plain mail sender of that address, both), api:crm-42 or
    web:<session id>.
    """
    from core.ops.privacy import forget_contacts

    if not yes:
        click.confirm(f"Erase everything kept about {contact}?", abort=True)
    erased = in_transaction(settings, partial(forget_contacts, selector=contact))
    if not erased:
        raise click.ClickException(f"no contact matches {contact!r}")
    for each in erased:
        click.echo(each.line)


if __name__ == "__main__":
    main()
