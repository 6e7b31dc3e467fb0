"""The audit trail of action calls: each call the bot made (or was stopped from making) for a
customer, as /admin shows it. Rows hold masked arguments and never a header or the verified
identity's value; erasing a customer leaves their calls without a name (`SET NULL`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.answering.actions.calls import CallRecord
from core.store.contacts import VERIFIED_EMAIL, VERIFIED_PHONE
from core.store.db import ActionCall, Conversation, Identity, utcnow
from core.store.transactions import Transactions
from core.turn_context import VerifiedIdentity


@dataclass(frozen=True, slots=True)
class AuditedCall:
    """One call as /admin lists it."""

    id: int
    at: datetime
    action: str
    contact_id: str | None
    conversation_id: str | None
    channel: str | None
    arguments: dict[str, Any]
    identity: list[str]
    outcome: str
    http_status: int | None
    duration_ms: int
    detail: str


def record(session: Session, call: CallRecord) -> None:
    session.add(
        ActionCall(
            at=utcnow(),
            action=call.action,
            contact_id=call.contact_id or None,
            conversation_id=call.conversation_id or None,
            arguments=call.arguments,
            identity=list(call.identity),
            outcome=call.outcome,
            http_status=call.http_status,
            duration_ms=call.duration_ms,
            detail=call.detail[:500],
        )
    )


def listed(session: Session, *, action: str | None = None, limit: int = 50, offset: int = 0) -> list[AuditedCall]:
    """The newest calls first, of one action or all."""
    query = (
        select(ActionCall, Conversation.channel)
        .outerjoin(Conversation, Conversation.id == ActionCall.conversation_id)
        .order_by(ActionCall.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if action:
        query = query.where(ActionCall.action == action)
    return [
        AuditedCall(
            id=row.id,
            at=row.at,
            action=row.action,
            contact_id=row.contact_id,
            conversation_id=row.conversation_id,
            channel=channel,
            arguments=dict(row.arguments),
            identity=list(row.identity),
            outcome=row.outcome,
            http_status=row.http_status,
            duration_ms=row.duration_ms,
            detail=row.detail,
        )
        for row, channel in session.execute(query).all()
    ]


def counted(session: Session, *, action: str | None = None) -> int:
    query = select(func.count()).select_from(ActionCall)
    if action:
        query = query.where(ActionCall.action == action)
    return int(session.execute(query).scalar_one())


class StoredActionPorts:
    """What actions need of the store (`core.answering.actions.flow.ActionPorts`)."""

    def __init__(self, transactions: Transactions) -> None:
        self._run = transactions.run

    async def identity_of(self, contact_id: str) -> VerifiedIdentity:
        def work(session: Session) -> VerifiedIdentity:
            rows = session.execute(
                select(Identity.channel, Identity.external_user_id).where(
                    Identity.contact_id == contact_id, Identity.channel.in_([VERIFIED_EMAIL, VERIFIED_PHONE])
                )
            ).all()
            found = {kind: value for kind, value in rows}
            return VerifiedIdentity(email=found.get(VERIFIED_EMAIL), phone=found.get(VERIFIED_PHONE))

        return await self._run(work) if contact_id else VerifiedIdentity()

    async def audit(self, call: CallRecord) -> None:
        await self._run(lambda session: record(session, call))
