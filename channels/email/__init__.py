"""Email, a channel in its own package: the channel (`channel`), the SMTP listener
(`listener`) and the IMAP mailbox (`imap`) that bring mail in, what a mail says (`content`: the
new text, attachments, why it is automatic), the loops it must not feed (`loops`), how a reply
looks as a mail (`format`), and its settings section `[email]` (`settings`). It is found through
its `supporthub.channels` entry point and speaks to the hub only through `core.channel`'s ports."""

from channels.email.channel import EmailChannel

__all__ = ["EmailChannel"]
