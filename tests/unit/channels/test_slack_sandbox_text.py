"""The sandbox's Slack pane shows a message as Slack renders it, not its markup typed out."""

from __future__ import annotations

import pytest

from channels.slack.sandbox import readable


@pytest.mark.parametrize(
    ("mrkdwn", "shown"),
    [
        ("*Reason:* The customer asked for a person.", "Reason: The customer asked for a person."),
        ("```\ncustomer: I want a person\nbot: one moment\n```", "customer: I want a person\nbot: one moment"),
        ("_no messages_", "no messages"),
        (
            "see <https://help.example/a|the guide> or <https://help.example/b>",
            "see the guide or https://help.example/b",
        ),
        ("`!claim`, `!resolve` work here", "!claim, !resolve work here"),
        ("a &lt;b&gt; &amp; c", "a <b> & c"),
        ("snake_case_name and 2*3*4 stay", "snake_case_name and 2*3*4 stay"),
    ],
)
def test_slack_markup_is_shown_as_slack_renders_it(mrkdwn: str, shown: str) -> None:
    assert readable(mrkdwn) == shown
