"""The hub's persistence, one object per job, all running on one `Transactions`."""

from __future__ import annotations

from dataclasses import dataclass

from core.handoff.survey import SurveyStore
from core.pipeline.turn_transactions import TurnTransactions
from core.store.channel_state import ChannelState
from core.store.channel_values import ChannelValueTable
from core.store.conversation_views import ConversationViews
from core.store.feedback import FeedbackStore
from core.store.inbox import Inbox
from core.store.outbox_queue import OutboxQueue
from core.store.transactions import Transactions


@dataclass(frozen=True, slots=True)
class Storage:
    inbox: Inbox
    """Received messages: stored once, claimed, answered once."""
    turns: TurnTransactions
    """What a turn reads, and its outcome written at once."""
    outbox: OutboxQueue
    """Replies waiting for delivery."""
    views: ConversationViews
    """Histories and overviews, as channels show them."""
    feedback: FeedbackStore
    surveys: SurveyStore
    """Scores given with the satisfaction survey's buttons."""
    channel_state: ChannelState
    """Delivered parts, moved chats, opt-outs and delivery statuses the channel adapters keep."""
    channel_values: ChannelValueTable
    """Each channel's own key-value store."""

    @classmethod
    def on(cls, transactions: Transactions) -> Storage:
        return cls(
            inbox=Inbox(transactions),
            turns=TurnTransactions(transactions),
            outbox=OutboxQueue(transactions),
            views=ConversationViews(transactions),
            feedback=FeedbackStore(transactions),
            surveys=SurveyStore(transactions),
            channel_state=ChannelState(transactions),
            channel_values=ChannelValueTable(transactions),
        )
