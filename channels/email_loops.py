"""The email channel's loop guard: how many mails an hour it answers, counted four ways.

Automatic mail that says so (Auto-Submitted, Precedence, no-reply senders…) is never answered
(`channels.email_content`). An auto-responder that does not say so answers each of our replies,
and we answered each of its mails: 29 replies in 30 s to one that wrote from a new sub-address
each time (`desk+t1@`, `desk+t2@`…), each a sender and a conversation of its own. So every mail
is counted, and refused past any of these, in a moving hour:

- its sender, without a `+tag` (`desk+t2@x.example` is `desk@x.example`);
- its sender's domain, for a responder that changes the whole local part;
- its thread: the conversation its In-Reply-To / References name, whoever wrote it, carried over
  to the conversation a reply from another address starts, so a responder that
  changes its domain too is still one thread;
- every mail in all, the last stop.

A refused mail is logged and not stored; no reply goes out, so the loop ends there. The counts
are the hub's rate limits (`core.rate_limits`): shared by every process when `redis_url` is set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.rate_limits import RateLimits

if TYPE_CHECKING:
    from core.settings import EmailSettings


def mailbox(address: str) -> str:
    """`address` without the `+tag` of its local part: "desk+t2@x.example" → "desk@x.example"."""
    local, at, domain = address.rpartition("@")
    return f"{local.partition('+')[0]}{at}{domain}" if at else address


class LoopGuard:
    def __init__(self, *, channel: str, settings: EmailSettings, redis_url: str) -> None:
        self._channel = channel

        def per_hour(most: int) -> RateLimits:
            return RateLimits(per_contact=f"{most}/hour", per_ip="", redis_url=redis_url)

        self._counts = (
            (per_hour(settings.max_replies_per_sender_per_hour), "sender",
             f"over {settings.max_replies_per_sender_per_hour} replies an hour to this sender"),
            (per_hour(settings.max_replies_per_domain_per_hour), "domain",
             f"over {settings.max_replies_per_domain_per_hour} replies an hour to this sender's domain"),
            (per_hour(settings.max_replies_per_thread_per_hour), "thread",
             f"over {settings.max_replies_per_thread_per_hour} replies an hour in this thread"),
            (per_hour(settings.max_replies_per_hour), "all", f"over {settings.max_replies_per_hour} replies an hour"),
        )

    async def refusal(self, *, sender: str, thread: str) -> str | None:
        """Counts one mail from `sender` in `thread`; why it must not be answered, or None."""
        keys = {"sender": mailbox(sender), "domain": sender.rpartition("@")[2], "thread": thread, "all": ""}
        for limits, kind, reason in self._counts:
            if not (await limits.admit(channel=self._channel, sender=f"{kind}:{keys[kind]}")).allowed:
                return reason
        return None
