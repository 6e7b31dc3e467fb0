"""Discord, a channel plug-in in its own package, on the optional extra `supporthub[discord]`
(discord.py): the channel (`channel`: the gateway's messages in, replies out, the survey's
buttons through the signed interactions endpoint), its settings section `[discord]`
(`settings`), how a reply looks there (`format`), a fake of Discord for tests and the sandbox
(`stand_in`, `sandbox`), and its sentences' translations (`locales/`). It is found through its
`supporthub.channels` entry point and speaks to the hub only through `core.channel`'s ports;
without discord.py installed the hub leaves it out (`core.channel_plugins`)."""

from channels.discord.channel import DiscordChannel

__all__ = ["DiscordChannel"]
