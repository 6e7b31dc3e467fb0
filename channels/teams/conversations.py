"""Where the bot's messages to a Teams conversation go: its conversation reference, kept in the
channel's values so that a reply written hours later, by any hub process, after any restart,
reaches the conversation as a proactive message ("Send proactive messages").

A Bot Framework `ConversationReference` is the conversation's id, the service URL of the
Bot Connector that serves it (Teams has several and may move a conversation: the latest one an
activity named is kept, updated with every message), the bot's account, the tenant and the
conversation's type. The conversation's id is the hub's address for it, so what is kept under a
hash of it is the rest, a short JSON array: the SDK's full JSON would not fit a value's 255
characters, and the user, the locale and the last activity's id are not needed to write to it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from microsoft_agents.activity import Activity, ChannelAccount, ConversationAccount, ConversationReference

from channels.teams.activities import TEAMS_CHANNEL


@dataclass(frozen=True, slots=True)
class KeptReference:
    """The part of a conversation's reference that is not its id."""

    service_url: str
    bot_id: str
    tenant_id: str | None = None
    conversation_type: str | None = None

    @classmethod
    def of(cls, activity: Activity) -> KeptReference:
        """The reference `activity` (a customer's, to the bot) gives its conversation."""
        conversation = activity.conversation
        return cls(
            service_url=str(activity.service_url),
            bot_id=str(activity.recipient.id if activity.recipient else ""),
            tenant_id=conversation.tenant_id if conversation else None,
            conversation_type=conversation.conversation_type if conversation else None,
        )

    def value(self) -> str:
        return json.dumps([self.service_url, self.bot_id, self.tenant_id, self.conversation_type])

    @classmethod
    def from_value(cls, value: str) -> KeptReference | None:
        try:
            service_url, bot_id, tenant_id, conversation_type = json.loads(value)
        except (ValueError, TypeError):
            return None
        if not (isinstance(service_url, str) and isinstance(bot_id, str)):
            return None
        return cls(service_url, bot_id, tenant_id, conversation_type)

    def continuation(self, conversation_id: str) -> Activity:
        """The SDK's continuation activity for the conversation. Its id is taken away: with one,
        the SDK would send each message as a reply to that (made-up) activity."""
        reference = ConversationReference(
            channel_id=TEAMS_CHANNEL,
            service_url=self.service_url,
            agent=ChannelAccount(id=self.bot_id),
            conversation=ConversationAccount(
                id=conversation_id, tenant_id=self.tenant_id, conversation_type=self.conversation_type
            ),
        )
        activity = reference.get_continuation_activity()
        activity.id = None
        return activity


def reference_key(conversation_id: str) -> str:
    """The values' key of a conversation's reference (a Teams conversation id can be longer than a key)."""
    return "ref:" + _hashed(conversation_id)


def asker_key(conversation_id: str) -> str:
    """The values' key of who opened a conversation: in a group chat or channel, only they answer its survey."""
    return "asker:" + _hashed(conversation_id)


def pressed_key(external_id: str) -> str:
    """The values' key of a survey button's press already taken (Teams may deliver it again)."""
    return "pressed:" + _hashed(external_id)


def _hashed(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:40]
