"""How the dashboard names a contact: by the best thing known of the person, not a hex id.

First found: the display name (a channel's profile name, or the one a signed-in visitor gave);
a verified email, then a verified phone; the name, email or phone the customer told the bot
(memory); the address they wrote from (an email address, a phone number); and only then
"contact 0c12ea79". Telegram, Slack, web and API ids say nothing to a person and are not used.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.store.contacts import VERIFIED_EMAIL, VERIFIED_PHONE
from core.store.db import Contact, Identity, Memory
from core.turn_context import FactKey

IDENTITY_ORDER = (VERIFIED_EMAIL, VERIFIED_PHONE)
MEMORY_ORDER = (FactKey.NAME, FactKey.EMAIL, FactKey.PHONE)
ADDRESS_ORDER = ("email", "sms")
"""Channels whose sender id is itself an address a person recognises."""


async def contact_labels(session: AsyncSession, contact_ids: Collection[str]) -> dict[str, str]:
    """Each contact's label, by id."""
    ids = list(set(contact_ids))
    if not ids:
        return {}
    found = await session.execute(select(Contact.id, Contact.display_name).where(Contact.id.in_(ids)))
    names = {contact_id: name for contact_id, name in found}  # not dict(found): a Result has keys()
    identities: dict[str, dict[str, str]] = {}
    for contact_id, channel, user in await session.execute(
        select(Identity.contact_id, Identity.channel, Identity.external_user_id)
        .where(Identity.contact_id.in_(ids))
        .order_by(Identity.id)
    ):
        identities.setdefault(contact_id, {}).setdefault(channel, user)
    memories: dict[str, dict[str, str]] = {}
    for contact_id, key, value in await session.execute(
        select(Memory.contact_id, Memory.key, Memory.value)
        .where(Memory.contact_id.in_(ids), Memory.key.in_([str(key) for key in MEMORY_ORDER]))
        .order_by(Memory.updated_at.desc())
    ):
        memories.setdefault(contact_id, {}).setdefault(key, value)
    return {
        contact_id: _label(
            contact_id, names.get(contact_id), identities.get(contact_id, {}), memories.get(contact_id, {})
        )
        for contact_id in ids
    }


def _label(contact_id: str, name: str | None, identities: dict[str, str], memories: dict[str, str]) -> str:
    candidates = [
        name,
        *(identities.get(kind) for kind in IDENTITY_ORDER),
        *(memories.get(str(key)) for key in MEMORY_ORDER),
        *(identities.get(channel) for channel in ADDRESS_ORDER),
    ]
    return next((c.strip() for c in candidates if c and c.strip()), f"contact {contact_id[:8]}")
