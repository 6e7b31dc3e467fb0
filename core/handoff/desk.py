"""The staff desk: escalated conversations become cases in a staff channel, where people
answer the customer and hand the conversation back.

The desk imports no chat SDK: it talks to a `DeskPort`, which a channel adapter implements
(Slack today) — post a case card, update it, write in its thread. What the desk posts (a new
case's card, customer messages copied into its thread, SLA reminders) is queued in the
outbox in the transaction that made it due, and delivered by the outbox like a reply: in
order per case, once, with retries, by whichever process with a desk gets there first
(`deliver`). An attempt that ended unrecorded (a timeout, a process that died mid-post) may
have posted: the next looks for the post on the desk, by the mark it carries, before posting.

With an LLM, a customer's line carries its translation for staff, and a reply staff write in
the thread reaches a customer in another language translated (`core.handoff.translations`).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy.exc import IntegrityError

from core.channel import DeliveryRefused
from core.desk_port import CaseAction, DeskPort, PeopleNames
from core.handoff.canned import UnknownCanned, canned_for_case
from core.handoff.cases import CaseTransitionError
from core.handoff.desk_store import (
    Overdue,
    Relayed,
    act_on_case,
    card_at,
    card_to_post,
    case_id_at,
    desk_ref_of,
    first_delivery,
    line_of,
    relay_staff_reply,
    relayed_before,
    remind_overdue,
    set_desk_ref,
    thread_of,
)
from core.handoff.hours import Sla
from core.handoff.inbox_store import note_at
from core.handoff.translations import Outgoing, StaffTranslations, language_at
from core.handoff.waiting import told_by_mail
from core.languages import language_name
from core.messages import Author
from core.metrics import REPLIES, Outcome
from core.store.db import DeliveryKind
from core.store.held_replies import held_reason
from core.store.outbox_queue import DueDelivery, held_notice
from core.store.transactions import Transactions

log = logging.getLogger(__name__)

POSTED_WITHIN = timedelta(minutes=5)
"""How far before a row was queued to look for its post on the desk (clock skew)."""
COMMANDS = {"!claim": CaseAction.CLAIM, "!resolve": CaseAction.RESOLVE, "!bot": CaseAction.RETURN}
THREAD_TRANSLATION_S = 2.0
"""The longest a reply typed in a case thread waits for its translation: the desk's event must
be answered within Slack's 3 s (or Slack sends it again, and the reply would go twice); a
slower model's reply is sent as written, and the thread says so."""
CANNED = "!reply"
"""`!reply NAME` in a case thread sends the canned reply NAME (`core.handoff.canned`)."""


class StaffDesk:
    def __init__(
        self,
        *,
        transactions: Transactions,
        port: DeskPort,
        note_prefix: str,
        push: frozenset[str],
        sla: Sla,
        survey: bool = True,
        translations: StaffTranslations | None = None,
    ) -> None:
        """`survey`: a resolved case's customer is asked the satisfaction survey (`core.handoff.survey`);
        `translations`: with an LLM, staff replies are sent in the customer's language."""
        self._run = transactions.run
        self._port = port
        self._note_prefix = note_prefix.lower()
        self._push = push
        self._sla = sla
        self._names: dict[str, str] = {}
        """Names of the people the platform named, by their id there."""
        self._survey = survey
        self._translations = translations
        self._cards = asyncio.Lock()
        """Held while this process posts a card or refreshes one."""

    async def deliver(self, due: DueDelivery) -> str | None:
        """Post an outbox row of the desk's (see `core.pipeline.outbox.DeskSender`)."""
        case_id = due.address.chat_id
        if self._translations is not None and due.kind in (DeliveryKind.CARD, DeliveryKind.LINE):
            # whoever posts (this hub's task for the turn, or the outbox's poll) translates first
            await self._translations.for_staff(due.message.conversation_id)
        if due.kind is DeliveryKind.CARD:
            async with self._cards:
                return await self._post_card(case_id, due)
        thread = await self._run(partial(thread_of, case_id=case_id))
        if thread is None:
            return None  # the conversation was erased
        if thread.desk_ref is None:
            raise DeliveryRefused("the case's card is not on the desk (it was dead-lettered)")
        key = f"{due.kind}-{due.message.id}"
        if due.claimed_before and due.created_at is not None:
            found = await self._port.find_in_case(thread.desk_ref, key, since=due.created_at - POSTED_WITHIN)
            if found is not None:
                log.info("desk: case %s's %s was posted by an earlier attempt; not posted again", case_id, due.kind)
                return found
        if due.kind is DeliveryKind.REMINDER:
            told = await self._run(partial(told_by_mail, case_id=case_id))
            text = self._reminder(thread.opened_at) + (
                f" Mailed to the staff, nobody being signed in: {told}." if told else ""
            )
        elif due.kind is DeliveryKind.HELD:
            reason = await self._run(partial(held_reason, message_id=due.message.id))
            if reason is None:
                return None  # sent meanwhile: the customer wrote
            text = held_notice(due.message.text, reason)
        else:
            text = line_text(
                due.message.author, due.message.text, *await self._run(partial(line_of, message_id=due.message.id))
            )
        return await self._port.post_to_case(thread.desk_ref, text, key=key)

    async def _post_card(self, case_id: str, due: DueDelivery) -> str | None:
        to_post = await self._run(partial(card_to_post, case_id=case_id))
        if to_post is None or isinstance(to_post, str):  # closed meanwhile, or on the desk already
            return to_post
        desk_ref = None
        if due.claimed_before and due.created_at is not None:
            desk_ref = await self._port.find_case(case_id, since=due.created_at - POSTED_WITHIN)
            if desk_ref is not None:
                log.info(
                    "desk: case %s's card was posted by an earlier attempt; recorded it, not posted again", case_id
                )
        if desk_ref is None:
            desk_ref = await self._port.post_case(to_post)
        await self._run(partial(set_desk_ref, case_id=case_id, desk_ref=desk_ref))
        return desk_ref

    def _reminder(self, opened_at: datetime) -> str:
        """How long the customer has waited, counted as the SLA counts (in business hours when set)."""
        waited = self._sla.hours.business_time_between(opened_at, datetime.now(UTC))
        minutes = int(waited.total_seconds() // 60)
        counted = " of business hours" if self._sla.hours.enabled else ""
        return f"Reminder: nobody has replied to this customer for {minutes} minutes{counted}."

    async def remind_overdue(self, *, now: datetime | None = None) -> list[Overdue]:
        """Remind the thread of every case nobody answered within the SLA (once), and tell its
        customer they are not forgotten; the caller delivers both from the outbox."""
        return await self._run(partial(remind_overdue, now=now or datetime.now(UTC), sla=self._sla, push=self._push))

    async def staff_message(
        self, *, desk_ref: str, actor: str, text: str, event_id: str | None = None
    ) -> Relayed | None:
        """A person wrote in a case thread: a command, an internal note, or a reply that goes
        to the customer (typed, or a canned one by `!reply NAME`). None when nothing reaches
        the customer's conversation. `event_id`: the platform's id of the message; a message
        the platform sends again (Slack resends an event not answered within 3 s, and a
        translation can take that long) is acted on once: a reply reaches the customer once, a
        note is kept once, a command runs once."""
        command = COMMANDS.get(text.strip().lower())
        noting = text.strip().lower().startswith(self._note_prefix)
        resent = (
            (command is not None or noting)
            and event_id is not None
            and not await self._run(partial(first_delivery, event_id=event_id))
        )
        if resent:
            log.info("desk: a command or note in %s came again; acted on once", desk_ref)
            return None
        if command is not None:
            case_id = await self._run(partial(case_id_at, desk_ref=desk_ref))
            return await self.act(case_id=case_id, action=command, actor=actor) if case_id else None
        actor = await self.named(actor)
        if noting:  # stays among staff; the inbox shows it
            await self._run(
                partial(note_at, desk_ref=desk_ref, actor=actor, text=text.strip()[len(self._note_prefix) :].strip())
            )
            return None
        if (name := canned_name(text)) is not None:
            filled = await self._canned(desk_ref=desk_ref, actor=actor, name=name)
            if filled is None:
                return None
            text = filled  # and on as if they had typed it
        external_id = f"desk:{event_id}" if event_id is not None else None
        if external_id is not None and await self._run(
            partial(relayed_before, desk_ref=desk_ref, external_id=external_id)
        ):
            return None
        reply = await self._for_customer(desk_ref, text)
        try:
            relayed = await self._run(
                partial(
                    relay_staff_reply,
                    desk_ref=desk_ref,
                    actor=actor,
                    reply=reply,
                    push=self._push,
                    external_id=external_id,
                )
            )
        except IntegrityError:  # the same message, resent while this one was being translated
            log.info("desk: a reply in %s came again while it was relayed; sent once", desk_ref)
            return None
        if relayed is not None:
            REPLIES.labels(channel=relayed.channel, outcome=Outcome.STAFF).inc()
        if relayed is not None and relayed.card is not None:
            await self.show(relayed)
        if relayed is not None and (name is not None or reply.original is not None or reply.untranslated):
            await self._show_sent(desk_ref, name, reply)
        return relayed

    async def _for_customer(self, desk_ref: str, text: str) -> Outgoing:
        """A reply written in the thread as it goes to the customer: in their language when
        it differs from staff's and an LLM can translate it."""
        if self._translations is None:
            return Outgoing(text)
        language = await self._run(partial(language_at, desk_ref=desk_ref))
        try:
            async with asyncio.timeout(THREAD_TRANSLATION_S):
                return await self._translations.for_customer(text, language=language)
        except TimeoutError:
            log.warning("desk: the translation of a reply in %s took too long; sent as written", desk_ref)
            return Outgoing(text, untranslated=language)

    async def _show_sent(self, desk_ref: str, name: str | None, reply: Outgoing) -> None:
        """Put what was sent in the thread when staff did not see it typed: a canned reply
        (staff only see `!reply NAME`), a translation, or that a translation failed."""
        what = f"Sent {name} to the customer" if name is not None else "Sent to the customer"
        if reply.language is not None:
            line = f"{what}, translated into {language_name(reply.language)}:\n{reply.text}"
        else:
            line = f"{what}:\n{reply.text}" if name is not None else ""
        problem = reply.note()
        try:
            await self._port.post_to_case(desk_ref, "\n".join(filter(None, [line, problem])))
        except Exception:
            log.warning("desk: could not show what was sent in the thread of %s", desk_ref, exc_info=True)

    async def _canned(self, *, desk_ref: str, actor: str, name: str) -> str | None:
        """The canned reply `name` filled for the case's customer and signed with the person's
        name; None when no case is open there, or the name is unknown (said in the thread)."""
        agent = actor if actor in self._names.values() else None  # a name the desk gave, not an id
        found = await self._run(partial(canned_for_case, desk_ref=desk_ref, name=name, agent=agent))
        if isinstance(found, UnknownCanned):
            await self._port.post_to_case(desk_ref, found.explanation())
            return None
        return found

    async def refresh_card(self, case_id: str) -> None:
        """Show a case's card as it is now (e.g. with a suggested reply added after it was
        posted). Under the cards' lock: a card being posted right now is updated after, not missed."""
        async with self._cards:
            found = await self._run(partial(card_at, case_id=case_id))
            if found is not None:
                desk_ref, card = found
                await self._port.update_case(desk_ref, card)

    async def named(self, actor: str) -> str:
        """The person's name as the desk's platform gives it (so the dashboard, the inbox and
        the card say "Sam Jones", not "U0SAM"); their id when it will not say. Kept for the
        process's life: one lookup per person. A name is decoration: a platform failing to give
        one never costs the message it was asked for."""
        if actor in self._names or not isinstance(self._port, PeopleNames):
            return self._names.get(actor, actor)
        try:
            name = await self._port.person_name(actor)
        except Exception as exc:  # noqa: BLE001 — any desk's failure; the id stands in
            log.warning("desk: no name for %s: %s", actor, type(exc).__name__)
            name = None
        if name is not None:
            self._names[actor] = name
        return name or actor

    async def act(self, *, case_id: str, action: CaseAction, actor: str) -> Relayed | None:
        """Claim, resolve or return a case; a move the case cannot make is explained in its
        thread (e.g. resolving it twice) and changes nothing."""
        actor = await self.named(actor)
        try:
            relayed = await self._run(
                partial(act_on_case, case_id=case_id, action=action, actor=actor, push=self._push, survey=self._survey)
            )
        except CaseTransitionError as exc:
            desk_ref = await self._run(partial(desk_ref_of, case_id=case_id))
            if desk_ref is not None:
                await self._port.post_to_case(desk_ref, f"Nothing changed: {exc}.")
            return None
        await self.show(relayed)
        return relayed

    async def show(self, relayed: Relayed) -> None:
        """Update the case's card to what `relayed` says of it (when it is on the desk)."""
        if relayed.desk_ref is None or relayed.card is None:
            return
        try:
            await self._port.update_case(relayed.desk_ref, relayed.card)
        except Exception:
            log.warning("desk: could not update the card of case %s", relayed.card.case_id, exc_info=True)


def line_text(author: Author, text: str, language: str | None, translation: str | None, original: str | None) -> str:
    """A message's line in its case's thread: a customer's with its translation for staff, a
    reply typed in the browser inbox with what it said before it was translated."""
    if author is Author.STAFF:
        if original is not None and language is not None:
            return f"*Reply from the inbox:* {original}\n_Sent translated into {language_name(language)}:_ {text}"
        return f"*Reply from the inbox:* {text}"
    if translation is not None and language is not None:
        return f"*Customer:* {text}\n_Translated from {language_name(language)}:_ {translation}"
    return f"*Customer:* {text}"


def canned_name(text: str) -> str | None:
    """NAME in `!reply NAME` (lower case; "" when none is given); None for any other message."""
    words = text.strip().split(maxsplit=1)
    if not words or words[0].lower() != CANNED:
        return None
    return words[1].strip().lower() if len(words) > 1 else ""
