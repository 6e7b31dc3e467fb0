"""identity kinds: verified emails and phones apart from channel users, and each customer
message's writer

- identities: a verified email was stored as ('email', address), the very key the email channel
  gives a plain From: sender, so a forged From: landed in the verified person's contact.
  Verified identities now have kinds of their own, 'verified-email' and 'verified-phone'.
  Existing ('phone', number) rows were only ever verified: renamed. An existing ('email',
  address) row may be either; it is taken as verified only where its contact also wrote on
  another channel (the widget's signed email, the API's `email`), and the mail sender's own
  identity then moves to a contact of its own, so a plain From: no longer reaches the verified
  person (their email conversations stay theirs). A contact that wrote only by email is linked
  again by its next DMARC-passed mail, when `trust_authentication_results` is on.
- messages.contact_id: the contact who wrote a customer message, so that in a conversation
  several people write in (a Slack thread, a Telegram group) each one's memory is their own.
  Older messages have none; their conversation's contact wrote them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('messages') as batch:
        batch.add_column(sa.Column('contact_id', sa.String(length=32), nullable=True))
        batch.create_foreign_key('fk_messages_contact_id_contacts', 'contacts', ['contact_id'], ['id'],
                                 ondelete='CASCADE')
        batch.create_index('ix_messages_contact_id', ['contact_id'])
    op.execute("UPDATE identities SET channel = 'verified-phone' WHERE channel = 'phone'")
    op.execute(
        "INSERT INTO identities (channel, external_user_id, contact_id) "
        "SELECT 'verified-email', i.external_user_id, i.contact_id FROM identities i "
        "WHERE i.channel = 'email' AND EXISTS (SELECT 1 FROM conversations c "
        "WHERE c.contact_id = i.contact_id AND c.channel <> 'email')"
    )
    _unproven_senders_apart()


def _unproven_senders_apart() -> None:
    """Each mail sender's identity held by a contact with a verified identity moves to a new
    contact of its own."""
    bind = op.get_bind()
    held = bind.execute(sa.text(
        "SELECT i.id FROM identities i WHERE i.channel = 'email' AND EXISTS (SELECT 1 FROM identities v "
        "WHERE v.contact_id = i.contact_id AND v.channel IN ('verified-email', 'verified-phone'))"
    )).scalars().all()
    new_contact = sa.text("INSERT INTO contacts (id, created_at) VALUES (:id, :now)").bindparams(
        sa.bindparam("now", type_=sa.DateTime(timezone=True)))
    for identity_id in held:
        contact_id = uuid.uuid4().hex
        bind.execute(new_contact, {"id": contact_id, "now": datetime.now(UTC)})
        bind.execute(sa.text("UPDATE identities SET contact_id = :contact WHERE id = :id"),
                     {"contact": contact_id, "id": identity_id})


def downgrade() -> None:
    op.execute("DELETE FROM identities WHERE channel = 'verified-email' AND EXISTS (SELECT 1 FROM identities e "
               "WHERE e.channel = 'email' AND e.external_user_id = identities.external_user_id)")
    op.execute("UPDATE identities SET channel = 'email' WHERE channel = 'verified-email'")
    op.execute("UPDATE identities SET channel = 'phone' WHERE channel = 'verified-phone'")
    with op.batch_alter_table('messages') as batch:
        batch.drop_index('ix_messages_contact_id')
        batch.drop_constraint('fk_messages_contact_id_contacts', type_='foreignkey')
        batch.drop_column('contact_id')
