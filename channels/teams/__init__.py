"""Microsoft Teams, a channel plug-in in its own package, on the optional extra `supporthub[teams]`
(the Microsoft 365 Agents SDK): the channel (`channel`: Teams' activities in at `/teams/messages`,
replies out as proactive messages), its settings section `[teams]` (`settings`), the Bot
Framework token every request carries (`jwt_validator`) and the bot's own token for the Bot
Connector (`token_provider`), what an activity holds for the hub (`activities`), where a
conversation's messages go (`conversations`, `hosts`), how a reply looks there (`format`), a fake
of Teams' side for tests and the sandbox (`stand_in`, `sandbox`), and its sentences' translations
(`locales/`). It is found through its `supporthub.channels` entry point and speaks to the hub
only through `core.channel`'s ports; without the SDK installed the hub leaves it out
(`core.channel_plugins`)."""

from channels.teams.channel import TeamsChannel

__all__ = ["TeamsChannel"]
