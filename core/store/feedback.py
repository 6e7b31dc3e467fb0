"""Customers' thumbs up or down on the bot's replies (a new vote replaces the old one); a thumbs
down queues the reply for review (`core.store.suggestions.from_vote`)."""

from __future__ import annotations

from functools import partial

from sqlalchemy.orm import Session

from core.channel import FeedbackResult
from core.messages import Address, Author
from core.store import suggestions
from core.store.contacts import conversation_at, dialect_insert
from core.store.db import Feedback, Message, utcnow
from core.store.transactions import Transactions


class FeedbackStore:
    def __init__(self, transactions: Transactions) -> None:
        self._run = transactions.run

    async def save(
        self, message_id: int, *, rating: str, comment: str | None = None, address: Address | None = None
    ) -> FeedbackResult:
        """Record a vote on a bot reply; with `address`, only a reply in that conversation
        counts as found."""
        return await self._run(partial(_save, message_id=message_id, rating=rating, comment=comment, address=address))


def _save(
    session: Session, *, message_id: int, rating: str, comment: str | None, address: Address | None
) -> FeedbackResult:
    message = session.get(Message, message_id)
    if message is None:
        return FeedbackResult.NOT_FOUND
    if address is not None and conversation_at(session, address) != message.conversation_id:
        return FeedbackResult.NOT_FOUND  # a reply in someone else's conversation
    if message.author != Author.BOT.value or message.survey is not None:
        return FeedbackResult.NOT_A_REPLY  # a person's message, or the satisfaction survey's
    now = utcnow()
    statement = dialect_insert(session)(Feedback).values(
        message_id=message_id, rating=rating, comment=comment, created_at=now, updated_at=now
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["message_id"], set_={"rating": rating, "comment": comment, "updated_at": now}
        )
    )
    suggestions.from_vote(session, message, down=rating == "down")
    return FeedbackResult.SAVED
