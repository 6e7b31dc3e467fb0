"""dashboard: indexes for the admin dashboard's aggregations, and why an index run skipped files

- messages (author, created_at, channel): volume and outcomes scan one author's messages in a
  period, and volume needs nothing else (a covering index);
- messages (conversation_id, author, created_at): whether staff wrote in a case's conversation
  since it opened (`core.handoff.desk_store.past_sla`: the SLA job, /metrics, the case queue).
  Needed because of the index above: SQLite, which has no statistics, prefers it to
  (conversation_id, id) for that test and walks every staff message since the case opened —
  with 300,000 messages and 200 open cases, 9.3 s instead of 9 ms for the case queue;
- messages (reply_to, author, created_at): a customer message's reply, for first-response
  times and knowledge gaps; with reply_to alone PostgreSQL merge-joined over the whole index
  and filtered the bot's replies out of it (830 ms for 30 days of a million messages; 110 ms
  with the author and time in the index);
- feedback (created_at): helpfulness in a period;
- outbox (channel, sent_at): the last successful delivery per channel;
- index_runs.skipped: the files a run could not read or convert, each with the reason.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_messages_author_created', 'messages', ['author', 'created_at', 'channel'])
    op.create_index('ix_messages_conversation_author', 'messages', ['conversation_id', 'author', 'created_at'])
    op.create_index('ix_messages_reply_to', 'messages', ['reply_to', 'author', 'created_at'])
    op.create_index('ix_feedback_created_at', 'feedback', ['created_at'])
    op.create_index('ix_outbox_sent', 'outbox', ['channel', 'sent_at'])
    with op.batch_alter_table('index_runs') as batch:
        batch.add_column(sa.Column('skipped', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('index_runs') as batch:
        batch.drop_column('skipped')
    op.drop_index('ix_outbox_sent', table_name='outbox')
    op.drop_index('ix_feedback_created_at', table_name='feedback')
    op.drop_index('ix_messages_reply_to', table_name='messages')
    op.drop_index('ix_messages_conversation_author', table_name='messages')
    op.drop_index('ix_messages_author_created', table_name='messages')
