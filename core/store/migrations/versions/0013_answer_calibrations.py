"""answer calibrations: the bar `supporthub eval --calibrate` learned from the operator's
labelled questions, one row per knowledge collection

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('answer_calibrations',
    sa.Column('collection', sa.String(length=255), nullable=False),
    sa.Column('bar', sa.Float(), nullable=False),
    sa.Column('answerable', sa.Integer(), nullable=False),
    sa.Column('out_of_scope', sa.Integer(), nullable=False),
    sa.Column('answered', sa.Float(), nullable=False),
    sa.Column('right_first', sa.Float(), nullable=False),
    sa.Column('declined_out', sa.Float(), nullable=True),
    sa.Column('source', sa.String(length=1000), nullable=False),
    sa.Column('fitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('collection')
    )


def downgrade() -> None:
    op.drop_table('answer_calibrations')
