"""Slack, a channel in its own package: the channel and the staff desk it carries (`channel`),
the shapes of Slack's events (`shapes`), how a reply and a case card look (`format`), links to
messages (`links`), Slack's error answers read once (`errors`), and its settings section
`[slack]` (`settings`). It is found through its `supporthub.channels` entry point and speaks to
the hub only through `core.channel`'s ports and to staff through `core.desk_port`."""

from channels.slack.channel import SlackChannel

__all__ = ["SlackChannel"]
