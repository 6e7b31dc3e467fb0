"""staff desk: where a case's thread is, what was mirrored into it, when it was reminded

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('cases', sa.Column('desk_ref', sa.String(length=64), nullable=True))
    op.add_column('cases', sa.Column('mirrored_upto', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('cases', sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('cases', sa.Column('suggestion', sa.Text(), nullable=True))
    op.create_index(op.f('ix_cases_desk_ref'), 'cases', ['desk_ref'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_cases_desk_ref'), table_name='cases')
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('suggestion')
        batch.drop_column('reminded_at')
        batch.drop_column('mirrored_upto')
        batch.drop_column('desk_ref')
