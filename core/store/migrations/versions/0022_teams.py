"""teams: groups of staff with a queue of their own, their members, and each case's team

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('teams',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('channels', sa.String(length=400), nullable=False),
    sa.Column('languages', sa.String(length=400), nullable=False),
    sa.Column('topics', sa.String(length=1000), nullable=False),
    sa.Column('round_robin', sa.Boolean(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('hours', sa.String(length=1000), nullable=False),
    sa.Column('last_assigned', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('team_members',
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team_id', 'staff_id')
    )
    op.create_index(op.f('ix_team_members_staff_id'), 'team_members', ['staff_id'], unique=False)
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('team_id', sa.Integer(), nullable=True))
        batch.create_index('ix_cases_team_id', ['team_id'], unique=False)
        batch.create_foreign_key('fk_cases_team_id_teams', 'teams', ['team_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.drop_constraint('fk_cases_team_id_teams', type_='foreignkey')
        batch.drop_index('ix_cases_team_id')
        batch.drop_column('team_id')
    op.drop_index(op.f('ix_team_members_staff_id'), table_name='team_members')
    op.drop_table('team_members')
    op.drop_table('teams')
