"""Links for people to the Slack staff desk's threads, built without asking Slack."""

from __future__ import annotations

import re
from urllib.parse import quote

_SLACK_TS = re.compile(r"[0-9]+\.[0-9]+")


def slack_thread_url(desk_ref: str | None, *, staff_channel: str | None, workspace_url: str | None) -> str | None:
    """A link to a case's thread on the Slack staff desk, built without asking Slack.

    The desk posts each case's card to `slack.staff_channel` and keeps the card's message ts as
    `Case.desk_ref`; the thread hangs under the card. With the workspace's URL
    (`https://acme.slack.com`) that is the card's permalink, `…/archives/<channel>/p<ts without
    the dot>`, which opens the card with its thread. Without it, the best link is Slack's
    `app_redirect` to the staff channel: it opens the channel in the signed-in workspace, not
    the thread. None when the case has no card, there is no staff channel, or `desk_ref` is
    not a Slack ts (another desk)."""
    if not desk_ref or not staff_channel or not _SLACK_TS.fullmatch(desk_ref):
        return None
    channel = quote(staff_channel, safe="")
    if workspace_url:
        base = workspace_url.rstrip("/")
        if "://" not in base:
            base = f"https://{base}"
        return f"{base}/archives/{channel}/p{desk_ref.replace('.', '')}"
    return f"https://slack.com/app_redirect?channel={channel}"
