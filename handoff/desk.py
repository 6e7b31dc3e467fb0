"""The staff desk: escalated conversations become cases in a staff channel, where people
answer the customer and hand the conversation back.

The desk imports no chat SDK: it talks to a `DeskPort`, which a channel adapter implements
(Slack today) — post a case card, update it, write in its thread. `sync()` posts the cards of
new cases and mirrors later customer messages into their threads; it runs after every turn
and on the leader's sweep, so nothing is lost to a restart or a failed post.

Each case's desk work is claimed in the database first, so of several hub processes one
posts a card, once. A process that dies after posting a card but before recording where
leaves a note that it tried (`card_attempted_at`): the next one looks for the card on the
desk and records it rather than posting it again. (A mirrored message can still be posted
twice if a process dies in that instant: it repeats a customer line in a staff thread.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from functools import partial

from core.desk_port import CaseAction, DeskPort
from core.metrics import REPLIES, Outcome
from core.store.transactions import Transactions
from handoff.cases import CaseTransitionError
from handoff.desk_store import (
    Overdue,
    Relayed,
    act_on_case,
    card_at,
    case_id_at,
    claim_desk_work,
    desk_ref_of,
    due_mirrors,
    mark_mirrored,
    relay_staff_reply,
    release_desk_work,
    remind_overdue,
    set_desk_ref,
    start_posting,
    unposted_cases,
)

log = logging.getLogger(__name__)

DESK_LEASE = timedelta(seconds=60)
"""How long a process holds a case's desk work; a process that died lets go when it runs out."""
POSTED_WITHIN = timedelta(minutes=5)
"""How far before an unrecorded attempt to look for its card on the desk (clock skew, retries)."""
COMMANDS = {"!claim": CaseAction.CLAIM, "!resolve": CaseAction.RESOLVE, "!bot": CaseAction.RETURN}


class StaffDesk:
    def __init__(self, *, transactions: Transactions, port: DeskPort, note_prefix: str, push: frozenset[str]) -> None:
        self._run = transactions.run
        self._port = port
        self._note_prefix = note_prefix.lower()
        self._push = push
        self._lock = asyncio.Lock()

    async def sync(self) -> None:
        """Post new cases' cards and mirror customer messages into case threads."""
        async with self._lock:  # one sync at a time in this process; the claims hold across processes
            for case_id in await self._run(unposted_cases):
                async with self._claimed(case_id) as claimed:
                    if claimed:
                        await self._post_card(case_id)
            for due in await self._run(due_mirrors):
                async with self._claimed(due.case_id) as claimed:
                    if claimed:
                        await self._mirror(due.case_id)

    @asynccontextmanager
    async def _claimed(self, case_id: str) -> AsyncIterator[bool]:
        claimed = await self._run(partial(claim_desk_work, case_id=case_id, now=datetime.now(UTC), lease=DESK_LEASE))
        try:
            yield claimed
        finally:
            if claimed:
                await self._run(partial(release_desk_work, case_id=case_id))

    async def _mirror(self, case_id: str) -> None:
        """Read again under the claim: another process may have mirrored some meanwhile."""
        for mirror in await self._run(partial(due_mirrors, case_id=case_id)):
            for message_id, text in mirror.messages:
                await self._port.post_to_case(mirror.desk_ref, f"*Customer:* {text}")
                await self._run(partial(mark_mirrored, case_id=mirror.case_id, upto=message_id))

    async def _post_card(self, case_id: str) -> None:
        to_post = await self._run(partial(start_posting, case_id=case_id, now=datetime.now(UTC)))
        if to_post is None:  # posted, or closed, meanwhile
            return
        desk_ref = None
        if to_post.attempted_at is not None:
            desk_ref = await self._port.find_case(case_id, since=to_post.attempted_at - POSTED_WITHIN)
            if desk_ref is not None:
                log.info(
                    "desk: case %s's card was posted by an earlier attempt; recorded it, not posted again", case_id
                )
        if desk_ref is None:
            desk_ref = await self._port.post_case(to_post.card)
        await self._run(partial(set_desk_ref, case_id=case_id, desk_ref=desk_ref))

    async def remind_overdue(self, *, sla: timedelta, now: datetime | None = None) -> list[Overdue]:
        """Remind the case thread of every case nobody answered within `sla` (once), and tell
        its customer they are not forgotten; the caller delivers those notices."""
        overdue = await self._run(partial(remind_overdue, now=now or datetime.now(UTC), sla=sla, push=self._push))
        for case in overdue:
            if case.desk_ref is not None:
                await self._port.post_to_case(
                    case.desk_ref, f"Reminder: nobody has replied to this customer for {case.waited_minutes} minutes."
                )
        return overdue

    async def staff_message(self, *, desk_ref: str, actor: str, text: str) -> Relayed | None:
        """A person wrote in a case thread: a command, an internal note, or a reply that goes
        to the customer. None when nothing reaches the customer's conversation."""
        command = COMMANDS.get(text.strip().lower())
        if command is not None:
            case_id = await self._run(partial(case_id_at, desk_ref=desk_ref))
            return await self.act(case_id=case_id, action=command, actor=actor) if case_id else None
        if text.strip().lower().startswith(self._note_prefix):
            return None  # stays in the staff thread
        relayed = await self._run(
            partial(relay_staff_reply, desk_ref=desk_ref, actor=actor, text=text, push=self._push)
        )
        if relayed is not None:
            REPLIES.labels(channel=relayed.channel, outcome=Outcome.STAFF).inc()
        if relayed is not None and relayed.card is not None:
            await self._refresh(relayed)
        return relayed

    async def refresh_card(self, case_id: str) -> None:
        """Show a case's card as it is now (e.g. with a suggested reply added after it was
        posted). Under the sync lock: a card being posted right now is updated after, not missed."""
        async with self._lock:
            found = await self._run(partial(card_at, case_id=case_id))
            if found is not None:
                desk_ref, card = found
                await self._port.update_case(desk_ref, card)

    async def act(self, *, case_id: str, action: CaseAction, actor: str) -> Relayed | None:
        """Claim, resolve or return a case; a move the case cannot make is explained in its
        thread (e.g. resolving it twice) and changes nothing."""
        try:
            relayed = await self._run(
                partial(act_on_case, case_id=case_id, action=action, actor=actor, push=self._push)
            )
        except CaseTransitionError as exc:
            desk_ref = await self._run(partial(desk_ref_of, case_id=case_id))
            if desk_ref is not None:
                await self._port.post_to_case(desk_ref, f"Nothing changed: {exc}.")
            return None
        await self._refresh(relayed)
        return relayed

    async def _refresh(self, relayed: Relayed) -> None:
        if relayed.desk_ref is None or relayed.card is None:
            return
        try:
            await self._port.update_case(relayed.desk_ref, relayed.card)
        except Exception:
            log.warning("desk: could not update the card of case %s", relayed.card.case_id, exc_info=True)
