"""languages: the customer's on conversations, messages and cases; translations kept beside a
message; each knowledge document's

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('conversations') as batch:
        batch.add_column(sa.Column('language', sa.String(length=8), nullable=True))
        batch.create_index('ix_conversations_language', ['language', 'updated_at'], unique=False)
    with op.batch_alter_table('messages') as batch:
        batch.add_column(sa.Column('language', sa.String(length=8), nullable=True))
        batch.add_column(sa.Column('translation', sa.Text(), nullable=True))
        batch.add_column(sa.Column('original', sa.Text(), nullable=True))
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('language', sa.String(length=8), nullable=True))
    with op.batch_alter_table('knowledge_documents') as batch:
        batch.add_column(sa.Column('language', sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('knowledge_documents') as batch:
        batch.drop_column('language')
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('language')
    with op.batch_alter_table('messages') as batch:
        batch.drop_column('original')
        batch.drop_column('translation')
        batch.drop_column('language')
    with op.batch_alter_table('conversations') as batch:
        batch.drop_index('ix_conversations_language')
        batch.drop_column('language')
