"""channel state: polling cursors, the delivered parts of split replies, unreachable chats,
opted-out numbers, the platform's delivery status of a sent reply

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('channel_cursors',
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('channel', 'name')
    )
    op.create_table('delivered_parts',
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('part', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('message_id', 'part')
    )
    op.add_column('conversations', sa.Column('unreachable_reason', sa.Text(), nullable=True))
    op.create_table('opt_outs',
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column('chat_id', sa.String(length=255), nullable=False),
    sa.Column('opted_out_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('channel', 'chat_id')
    )
    op.add_column('outbox', sa.Column('platform_status', sa.String(length=20), nullable=True))
    op.add_column('outbox', sa.Column('platform_status_rank', sa.Integer(), nullable=True))
    op.create_index('ix_outbox_external', 'outbox', ['channel', 'external_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outbox_external', table_name='outbox')
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('platform_status_rank')
        batch.drop_column('platform_status')
    op.drop_table('opt_outs')
    with op.batch_alter_table('conversations') as batch:
        batch.drop_column('unreachable_reason')
    op.drop_table('delivered_parts')
    op.drop_table('channel_cursors')
