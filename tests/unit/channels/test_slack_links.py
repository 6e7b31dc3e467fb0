"""Links to a case's thread on the Slack staff desk, for the dashboard."""

from __future__ import annotations

import pytest

from channels.slack.links import slack_thread_url


@pytest.mark.parametrize(
    ("desk_ref", "staff_channel", "workspace_url", "expected"),
    [
        (
            "1700000000.000100",
            "C0STAFF",
            "https://acme.slack.com/",
            "https://acme.slack.com/archives/C0STAFF/p1700000000000100",
        ),
        ("1700000000.000100", "C0STAFF", "acme.slack.com", "https://acme.slack.com/archives/C0STAFF/p1700000000000100"),
        ("1700000000.000100", "C0STAFF", None, "https://slack.com/app_redirect?channel=C0STAFF"),
        ("1700000000.000100", "", "https://acme.slack.com", None),
        ("1700000000.000100", None, None, None),
        (None, "C0STAFF", "https://acme.slack.com", None),
        ("not-a-ts", "C0STAFF", "https://acme.slack.com", None),
    ],
)
def test_slack_thread_url(
    desk_ref: str | None, staff_channel: str | None, workspace_url: str | None, expected: str | None
) -> None:
    assert slack_thread_url(desk_ref, staff_channel=staff_channel, workspace_url=workspace_url) == expected
