"""suggestions: what the support team answered, for review before the bot uses it; and knowledge's
written documents (approved answers) and phrasings linked to a section

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('knowledge_documents') as batch:
        batch.add_column(sa.Column('written', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table('written_documents',
    sa.Column('source', sa.String(length=1000), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('section', sa.String(length=500), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('source')
    )
    op.create_table('linked_phrasings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=1000), nullable=False),
    sa.Column('section', sa.String(length=500), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source', 'section', 'text')
    )
    op.create_index(op.f('ix_linked_phrasings_source'), 'linked_phrasings', ['source'], unique=False)
    op.create_table('suggestions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('phrasings', sa.JSON(), nullable=False),
    sa.Column('bot_reply', sa.Text(), nullable=True),
    sa.Column('conversation_id', sa.String(length=32), nullable=True),
    sa.Column('case_id', sa.String(length=32), nullable=True),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('answered_by', sa.String(length=255), nullable=True),
    sa.Column('source', sa.String(length=1000), nullable=True),
    sa.Column('section', sa.String(length=500), nullable=True),
    sa.Column('reviewed_by', sa.String(length=255), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id'),
    sa.UniqueConstraint('message_id')
    )
    op.create_index(op.f('ix_suggestions_conversation_id'), 'suggestions', ['conversation_id'], unique=False)
    op.create_index('ix_suggestions_state', 'suggestions', ['state', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_suggestions_state', table_name='suggestions')
    op.drop_index(op.f('ix_suggestions_conversation_id'), table_name='suggestions')
    op.drop_table('suggestions')
    op.drop_index(op.f('ix_linked_phrasings_source'), table_name='linked_phrasings')
    op.drop_table('linked_phrasings')
    op.drop_table('written_documents')
    with op.batch_alter_table('knowledge_documents') as batch:
        batch.drop_column('written')
