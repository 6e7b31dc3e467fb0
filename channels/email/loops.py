"""The email channel's loop guard: how many replies the bot sends an hour, counted four ways.

Automatic mail that says so (Auto-Submitted, Precedence, no-reply senders…) is never answered
(`channels.email.content`). An auto-responder that does not say so answers each of our replies,
and the bot answered each of its mails: 29 replies in 30 s to one that wrote from a new
sub-address each time (`desk+t1@`, `desk+t2@`…), each a sender and a conversation of its own. So
each bot reply is counted as it is about to be sent (`EmailChannel.send`), and refused past any
of these, in a moving hour:

- its address, without a `+tag` (`desk+t2@x.example` is `desk@x.example`);
- that address's domain, for a responder that changes the whole local part;
- its thread: the conversation's, or the one carried over (the "loop" cursor) when the mail that
  began the conversation answered into another one from a new address, so a responder that
  changes its domain too is still one thread;
- every bot reply in all, the last stop: a bound on the automatic mail the hub sends, whoever
  the senders are.

Only the bot's replies are counted. Every mail is stored, however many came before it (a
redelivery once: counting before storing made each retry of a mail the database could not take
count again, until the mail was thrown away), and a person's replies are never limited: staff
answer whoever they like, and a customer writing to a person is never held back. A refused reply
is dead-lettered with the reason (`supporthub outbox --dead`, re-queued by an operator); no mail
goes out, so the loop ends there.

The counts are the hub's rate limits (`core.rate_limits`), shared by every process when
`redis_url` is set: one `RateLimits` for each count, since one applies all its limits to the one
key it is asked about, and each count has a key and a limit of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.rate_limits import RateLimits

if TYPE_CHECKING:
    from channels.email.settings import EmailSettings


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
            (
                per_hour(settings.max_replies_per_sender_per_hour),
                "sender",
                f"over {settings.max_replies_per_sender_per_hour} replies an hour to this address",
            ),
            (
                per_hour(settings.max_replies_per_domain_per_hour),
                "domain",
                f"over {settings.max_replies_per_domain_per_hour} replies an hour to this address's domain",
            ),
            (
                per_hour(settings.max_replies_per_thread_per_hour),
                "thread",
                f"over {settings.max_replies_per_thread_per_hour} replies an hour in this thread",
            ),
            (
                per_hour(settings.max_replies_per_hour),
                "all",
                f"over {settings.max_replies_per_hour} replies an hour in all",
            ),
        )

    async def refusal(self, *, to: str, thread: str) -> str | None:
        """Counts one bot reply to the address `to` in the loop thread `thread`; why it must not
        be sent, or None. A refused reply is not counted where it was refused (a moving window
        past its limit takes no hit), only in the counts asked before that one."""
        keys = {"sender": mailbox(to), "domain": to.rpartition("@")[2], "thread": thread, "all": ""}
        for limits, kind, reason in self._counts:
            if not (await limits.admit(channel=self._channel, sender=f"{kind}:{keys[kind]}")).allowed:
                return reason
        return None
