"""`supporthub outbox`: the replies not yet delivered, and re-queuing dead letters."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from core.cli.support import age, in_transaction, uses_settings

if TYPE_CHECKING:
    from core.settings import Settings
    from core.store.dead_letters import OutboxListing, Requeued, UndeliveredReply

MIN_ERROR_WIDTH = 30


@click.command("outbox")
@click.option("--dead", "dead_only", is_flag=True, help="List only dead letters (replies given up on).")
@click.option(
    "--retry", "retry_id", type=int, metavar="ID", default=None, help="Re-queue the dead letter ID for delivery."
)
@click.option("--retry-all", is_flag=True, help="Re-queue every dead letter.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1), help="Replies listed, oldest first.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
@uses_settings
def outbox_command(
    settings: Settings, dead_only: bool, retry_id: int | None, retry_all: bool, limit: int, as_json: bool
) -> None:
    """List replies not yet delivered (waiting for a retry, or dead-lettered), or re-queue
    dead letters once the cause is fixed. Re-queued replies reach the customer after those
    sent since."""
    from core.store.dead_letters import NotRequeueable, requeue, requeue_all, undelivered

    if retry_id is not None and retry_all:
        raise click.UsageError("use --retry ID or --retry-all, not both")
    if dead_only and (retry_id is not None or retry_all):
        raise click.UsageError("--dead chooses what to list; leave it out when re-queuing")
    if retry_id is None and not retry_all:
        listing = in_transaction(settings, lambda session: undelivered(session, dead_only=dead_only, limit=limit))
        _show_listing(listing, dead_only=dead_only, as_json=as_json)
        return
    if retry_id is not None:
        try:
            requeued = [in_transaction(settings, lambda session: requeue(session, outbox_id=retry_id))]
        except NotRequeueable as exc:
            raise click.ClickException(str(exc)) from None
    else:
        requeued = in_transaction(settings, requeue_all)
    _show_requeued(requeued, settings=settings, as_json=as_json)


def _show_listing(listing: OutboxListing, *, dead_only: bool, as_json: bool) -> None:
    if as_json:
        click.echo(
            json.dumps(
                {
                    "pending": listing.pending,
                    "dead": listing.dead,
                    "replies": [_reply_json(reply) for reply in listing.replies],
                },
                indent=2,
            )
        )
        return
    if not listing.replies:
        click.echo("no dead letters" if dead_only else "nothing waiting: every reply has been delivered")
        return
    now = datetime.now(UTC)
    header = (
        f"{'id':>8}  {'status':7}  {'channel':10}  {'conversation':32}  {'attempts':>8}  {'age':12}  {'next try':12}"
    )
    error_width = max(MIN_ERROR_WIDTH, shutil.get_terminal_size((160, 24)).columns - len(header) - 2)
    click.echo(f"{header}  last error")
    for reply in listing.replies:
        click.echo(
            f"{reply.id:>8}  {reply.status:7}  {reply.channel:10}  {reply.conversation_id:32}  "
            f"{reply.attempts:>8}  {age(reply.created_at, now):12}  {_next_try(reply, now):12}  "
            f"{_one_line(reply.last_error, error_width)}"
        )
    click.echo(_summary(listing, dead_only=dead_only))


def _summary(listing: OutboxListing, *, dead_only: bool) -> str:
    total = listing.dead if dead_only else listing.pending + listing.dead
    counts = f"{listing.dead} dead" if dead_only else f"{listing.pending} pending, {listing.dead} dead"
    shown = f" (the {len(listing.replies)} oldest shown; --limit shows more)" if len(listing.replies) < total else ""
    advice = " — re-queue with `supporthub outbox --retry ID` or `--retry-all`" if listing.dead else ""
    return f"{counts}{shown}{advice}"


def _next_try(reply: UndeliveredReply, now: datetime) -> str:
    from core.store.db import DeliveryStatus

    if reply.status == DeliveryStatus.DEAD:
        return "-"
    return "due" if reply.next_attempt_at <= now else f"in {age(now, reply.next_attempt_at)}"


def _one_line(error: str | None, width: int) -> str:
    line = " ".join((error or "-").split())
    return line if len(line) <= width else line[: width - 1] + "…"


def _reply_json(reply: UndeliveredReply) -> dict[str, Any]:
    from core.store.db import DeliveryStatus

    return {
        "id": reply.id,
        "status": str(reply.status),
        "channel": reply.channel,
        "conversation_id": reply.conversation_id,
        "attempts": reply.attempts,
        "created_at": reply.created_at.isoformat(),
        "next_attempt_at": reply.next_attempt_at.isoformat() if reply.status == DeliveryStatus.PENDING else None,
        "last_error": reply.last_error,
    }


def _show_requeued(requeued: list[Requeued], *, settings: Settings, as_json: bool) -> None:
    for item in requeued:
        if item.unreachable is not None:
            click.echo(
                f"warning: outbox item {item.id} will be dead-lettered again unless the customer writes first: "
                f"{item.unreachable}",
                err=True,
            )
    if as_json:
        click.echo(
            json.dumps(
                {
                    "requeued": [
                        {
                            "id": item.id,
                            "channel": item.channel,
                            "conversation_id": item.conversation_id,
                            "unreachable": item.unreachable,
                        }
                        for item in requeued
                    ]
                },
                indent=2,
            )
        )
        return
    if not requeued:
        click.echo("no dead letters to re-queue")
        return
    ids = ", ".join(str(item.id) for item in requeued)
    one = len(requeued) == 1
    click.echo(
        f"re-queued {len(requeued)} {'reply' if one else 'replies'} ({ids}). A running `supporthub serve` "
        f"(any process on this database, with the channel enabled) delivers {'it' if one else 'them'} on its "
        f"next sweep, every {settings.outbox.poll_interval_s:g} s; if none is running, the next one to start does."
    )


COMMANDS = (outbox_command,)
