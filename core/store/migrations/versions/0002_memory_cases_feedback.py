"""memory, signals, attachments' data, cases and feedback

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('conversations', sa.Column('summary', sa.Text(), nullable=True))
    op.add_column('conversations', sa.Column('summary_upto', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('messages', sa.Column('intent', sa.String(length=20), nullable=True))
    op.add_column('messages', sa.Column('polarity', sa.Float(), nullable=True))
    op.add_column('messages', sa.Column('frustration', sa.Float(), nullable=True))
    op.add_column('messages', sa.Column('declined', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('attachments', sa.Column('data', sa.LargeBinary(), nullable=True))
    op.add_column('attachments', sa.Column('problem', sa.Text(), nullable=True))
    op.create_index('ix_conversations_updated_at', 'conversations', ['updated_at'])
    op.create_table('memories',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('contact_id', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('value', sa.String(length=500), nullable=False),
    sa.Column('source_message_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_message_id'], ['messages.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('contact_id', 'key', 'value')
    )
    op.create_index(op.f('ix_memories_contact_id'), 'memories', ['contact_id'], unique=False)
    op.create_index(op.f('ix_memories_source_message_id'), 'memories', ['source_message_id'], unique=False)
    op.create_table('cases',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('conversation_id', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('rule', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('frustration', sa.Float(), nullable=True),
    sa.Column('owner', sa.String(length=255), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_cases_conversation_id'), 'cases', ['conversation_id'], unique=False)
    op.create_index('ix_cases_open', 'cases', ['state', 'opened_at'], unique=False)
    op.create_table('case_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=32), nullable=False),
    sa.Column('from_state', sa.String(length=16), nullable=True),
    sa.Column('to_state', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=255), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_case_events_case_id'), 'case_events', ['case_id'], unique=False)
    op.create_table('feedback',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('rating', sa.String(length=4), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id')
    )


def downgrade() -> None:
    op.drop_table('feedback')
    op.drop_index(op.f('ix_case_events_case_id'), table_name='case_events')
    op.drop_table('case_events')
    op.drop_index('ix_cases_open', table_name='cases')
    op.drop_index(op.f('ix_cases_conversation_id'), table_name='cases')
    op.drop_table('cases')
    op.drop_index(op.f('ix_memories_source_message_id'), table_name='memories')
    op.drop_index(op.f('ix_memories_contact_id'), table_name='memories')
    op.drop_table('memories')
    op.drop_index('ix_conversations_updated_at', table_name='conversations')
    with op.batch_alter_table('attachments') as batch:
        batch.drop_column('problem')
        batch.drop_column('data')
    with op.batch_alter_table('messages') as batch:
        for column in ('declined', 'frustration', 'polarity', 'intent'):
            batch.drop_column(column)
    with op.batch_alter_table('conversations') as batch:
        batch.drop_column('summary_upto')
        batch.drop_column('summary')
