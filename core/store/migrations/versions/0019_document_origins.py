"""knowledge documents: the run that manages each (origin), its public address, a web page's crawl state;
a run's progress; documents pushed through the knowledge API

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('knowledge_documents') as batch:
        batch.add_column(sa.Column('origin', sa.String(length=100), server_default='files', nullable=False))
        batch.add_column(sa.Column('url', sa.String(length=2000), nullable=True))
        batch.add_column(sa.Column('page', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('missing_since', sa.DateTime(timezone=True), nullable=True))
        batch.create_index(batch.f('ix_knowledge_documents_origin'), ['origin'], unique=False)
    op.execute("UPDATE knowledge_documents SET origin = 'written' WHERE written")
    with op.batch_alter_table('knowledge_documents') as batch:
        batch.drop_column('written')
    with op.batch_alter_table('index_runs') as batch:
        batch.add_column(sa.Column('progress', sa.String(length=200), nullable=True))
    op.create_table('pushed_documents',
    sa.Column('source', sa.String(length=1000), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('source')
    )


def downgrade() -> None:
    op.drop_table('pushed_documents')
    with op.batch_alter_table('index_runs') as batch:
        batch.drop_column('progress')
    with op.batch_alter_table('knowledge_documents') as batch:
        batch.add_column(sa.Column('written', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute("UPDATE knowledge_documents SET written = (origin = 'written')")
    with op.batch_alter_table('knowledge_documents') as batch:
        batch.drop_index(batch.f('ix_knowledge_documents_origin'))
        batch.drop_column('missing_since')
        batch.drop_column('page')
        batch.drop_column('url')
        batch.drop_column('origin')
