"""scale-out: a case's desk work claimed by one process at a time, and a notification for
every stored message (PostgreSQL), the wake-up other hub processes listen for

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTIFY_FUNCTION = """
CREATE FUNCTION supporthub_message_stored() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    conversation RECORD;
BEGIN
    SELECT channel, chat_id, thread_id INTO conversation FROM conversations WHERE id = NEW.conversation_id;
    PERFORM pg_notify('supporthub_messages', json_build_object(
        'id', NEW.id,
        'conversation', NEW.conversation_id,
        'channel', conversation.channel,
        'chat', conversation.chat_id,
        'thread', conversation.thread_id,
        'reply_to', NEW.reply_to)::text);
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('desk_claimed_until', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('card_attempted_at', sa.DateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(NOTIFY_FUNCTION)
        op.execute('CREATE TRIGGER messages_notify AFTER INSERT ON messages '
                   'FOR EACH ROW EXECUTE FUNCTION supporthub_message_stored()')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER messages_notify ON messages')
        op.execute('DROP FUNCTION supporthub_message_stored()')
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('card_attempted_at')
        batch.drop_column('desk_claimed_until')
