"""case ratings: the satisfaction survey asked when a person resolves a case (one per case,
answered at most once, credited to the person who had it), and which messages belong to it

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('messages') as batch:
        batch.add_column(sa.Column('survey', sa.String(length=8), nullable=True))
    op.create_table('case_ratings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=32), nullable=False),
    sa.Column('conversation_id', sa.String(length=32), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('staff', sa.String(length=255), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column('score', sa.SmallInteger(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id'),
    sa.UniqueConstraint('message_id')
    )
    op.create_index('ix_case_ratings_answered_at', 'case_ratings', ['answered_at'], unique=False)
    op.create_index('ix_case_ratings_asked_at', 'case_ratings', ['asked_at'], unique=False)
    op.create_index(op.f('ix_case_ratings_conversation_id'), 'case_ratings', ['conversation_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_case_ratings_conversation_id'), table_name='case_ratings')
    op.drop_index('ix_case_ratings_asked_at', table_name='case_ratings')
    op.drop_index('ix_case_ratings_answered_at', table_name='case_ratings')
    op.drop_table('case_ratings')
    with op.batch_alter_table('messages') as batch:
        batch.drop_column('survey')
