"""actions: the audit trail of every action call, and an action waiting on a customer's answer

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('conversations') as batch:
        batch.add_column(sa.Column('pending_action', sa.Text(), nullable=True))
    op.create_table('action_calls',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('contact_id', sa.String(length=32), nullable=True),
    sa.Column('conversation_id', sa.String(length=32), nullable=True),
    sa.Column('arguments', sa.JSON(), nullable=False),
    sa.Column('identity', sa.JSON(), nullable=False),
    sa.Column('outcome', sa.String(length=24), nullable=False),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_action_calls_at', 'action_calls', ['at'], unique=False)
    op.create_index(op.f('ix_action_calls_contact_id'), 'action_calls', ['contact_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_action_calls_contact_id'), table_name='action_calls')
    op.drop_index('ix_action_calls_at', table_name='action_calls')
    op.drop_table('action_calls')
    with op.batch_alter_table('conversations') as batch:
        batch.drop_column('pending_action')
