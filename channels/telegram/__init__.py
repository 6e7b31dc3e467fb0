"""Telegram, a channel in its own package: the channel (`channel`), the shapes of Telegram's
updates (`shapes`), how a reply looks in Telegram's HTML (`format`), and its settings section
`[telegram]` (`settings`). It is found through its `supporthub.channels` entry point and speaks
to the hub only through `core.channel`'s ports."""

from channels.telegram.channel import TelegramChannel

__all__ = ["TelegramChannel"]
