"""desk through the outbox: the staff desk's cards, mirrored customer lines and reminders are
outbox rows (kind card, line, reminder; channel "desk", chat_id the case), so the cases' own
desk leases, card attempts and mirror mark go; the work those three columns still owed (open
cases' cards not posted, customer lines not mirrored) is queued here

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OWED_CARDS = """
INSERT INTO outbox (message_id, kind, conversation_id, channel, chat_id, thread_id, status, attempts,
                    claims, next_attempt_at, created_at)
SELECT (SELECT max(m.id) FROM messages m WHERE m.conversation_id = c.conversation_id),
       'card', c.conversation_id, 'desk', c.id, '', 'pending', 0, 0, c.opened_at, c.opened_at
FROM cases c
WHERE c.state IN ('waiting', 'human') AND c.desk_ref IS NULL
  AND EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.conversation_id)
"""
_OWED_LINES = """
INSERT INTO outbox (message_id, kind, conversation_id, channel, chat_id, thread_id, status, attempts,
                    claims, next_attempt_at, created_at)
SELECT m.id, 'line', c.conversation_id, 'desk', c.id, '', 'pending', 0, 0, m.created_at, m.created_at
FROM cases c JOIN messages m ON m.conversation_id = c.conversation_id
WHERE c.state IN ('waiting', 'human') AND m.author = 'customer'
  AND m.id > c.mirrored_upto AND m.created_at > c.opened_at
"""


def _one_reply_per_message() -> str:
    """The name of 0001's unique constraint on message_id: PostgreSQL's own for it; SQLite's
    has none, so the convention below names it to drop it."""
    return 'uq_outbox_message_id' if op.get_bind().dialect.name == 'sqlite' else 'outbox_message_id_key'


def upgrade() -> None:
    naming = {'uq': 'uq_%(table_name)s_%(column_0_name)s'}
    with op.batch_alter_table('outbox', naming_convention=naming) as batch:
        batch.add_column(sa.Column('kind', sa.String(length=16), nullable=False, server_default='reply'))
        batch.add_column(sa.Column('claims', sa.Integer(), nullable=False, server_default='0'))
        batch.drop_constraint(_one_reply_per_message(), type_='unique')
        batch.create_unique_constraint('uq_outbox_message_kind', ['message_id', 'kind'])
    op.execute(_OWED_CARDS)
    op.execute(_OWED_LINES)
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('mirrored_upto')
        batch.drop_column('desk_claimed_until')
        batch.drop_column('card_attempted_at')


def downgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('card_attempted_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('desk_claimed_until', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('mirrored_upto', sa.Integer(), nullable=False, server_default='0'))
    op.execute("UPDATE cases SET mirrored_upto = coalesce((SELECT max(o.message_id) FROM outbox o "
               "WHERE o.chat_id = cases.id AND o.kind = 'line' AND o.status = 'sent'), 0)")
    op.execute("DELETE FROM outbox WHERE kind <> 'reply'")
    with op.batch_alter_table('outbox') as batch:
        batch.drop_constraint('uq_outbox_message_kind', type_='unique')
        batch.create_unique_constraint(_one_reply_per_message(), ['message_id'])
        batch.drop_column('claims')
        batch.drop_column('kind')
