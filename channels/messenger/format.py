"""A reply as Messenger and Instagram show it: plain text (neither renders markdown sent through
the Send API; `channels.common.plain_text`: markers dropped, list items one a line, links as
"title: URL", a table's rows as lines), its sources after it, in as many messages as the
platform's limit asks (Messenger 2,000 characters, Instagram 1,000; `channels.common.reply_parts`).
"""

from __future__ import annotations

from collections.abc import Sequence

from channels.common import reply_parts
from channels.common.plain_text import plain_text
from core.messages import Citation


def message_parts(text: str, citations: Sequence[Citation] = (), *, max_chars: int) -> list[str]:
    """The reply as the messages it is sent in, each within `max_chars`."""
    return reply_parts.parts(plain_text(text), reply_parts.sources_line(citations), max_chars=max_chars)


def message_text(text: str, citations: Sequence[Citation] = (), *, max_chars: int) -> str:
    """The reply as one message within `max_chars` (the survey's question with its scores)."""
    return reply_parts.one_message(plain_text(text), reply_parts.sources_line(citations), max_chars=max_chars)
