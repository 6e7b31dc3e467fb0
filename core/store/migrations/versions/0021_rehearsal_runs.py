"""rehearsal runs: each run of the re-index gate or of `supporthub rehearse`, and each rehearsal's
turns in it, for the dashboard's rehearsals page

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('rehearsal_runs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('verdict', sa.String(length=16), nullable=False),
    sa.Column('change', sa.String(length=1000), nullable=False),
    sa.Column('index_run_id', sa.Integer(), nullable=True),
    sa.Column('passed', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_rehearsal_runs_started_at'), 'rehearsal_runs', ['started_at'], unique=False)
    op.create_index(op.f('ix_rehearsal_runs_index_run_id'), 'rehearsal_runs', ['index_run_id'], unique=False)
    op.create_table('rehearsal_outcomes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('file', sa.String(length=500), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('passed_before', sa.Boolean(), nullable=True),
    sa.Column('turns', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['rehearsal_runs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_rehearsal_outcomes_run_id'), 'rehearsal_outcomes', ['run_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_rehearsal_outcomes_run_id'), table_name='rehearsal_outcomes')
    op.drop_table('rehearsal_outcomes')
    op.drop_index(op.f('ix_rehearsal_runs_index_run_id'), table_name='rehearsal_runs')
    op.drop_index(op.f('ix_rehearsal_runs_started_at'), table_name='rehearsal_runs')
    op.drop_table('rehearsal_runs')
