"""channel values: each channel's own key-value store, in place of the polling cursors' table
(the email channel kept thread subjects and Message-IDs there too); the rows move over

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _table(name: str, key: str) -> None:
    op.create_table(name,
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column(key, sa.String(length=100), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('channel', key)
    )


def upgrade() -> None:
    _table('channel_values', 'key')
    op.execute('INSERT INTO channel_values (channel, key, value, updated_at) '
               'SELECT channel, name, value, updated_at FROM channel_cursors')
    op.drop_table('channel_cursors')


def downgrade() -> None:
    _table('channel_cursors', 'name')
    op.execute('INSERT INTO channel_cursors (channel, name, value, updated_at) '
               'SELECT channel, key, value, updated_at FROM channel_values')
    op.drop_table('channel_values')
