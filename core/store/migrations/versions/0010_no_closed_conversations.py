"""no 'closed' conversations: a conversation whose case was resolved is the bot's

A conversation was 'closed' after its case was resolved, a state in which the bot answered
and which the next customer message turned into 'bot'. It is 'bot' at once now; who has a
conversation is its open case's state (waiting, human) or the bot.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE conversations SET state = 'bot' WHERE state = 'closed'")


def downgrade() -> None:
    """Nothing to undo: 'bot' is what a closed conversation became at its next message."""
