"""The `[slack]` section of the settings: this channel's own model, declared through its entry point."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from core.settings import Section


class SlackSettings(Section):
    """Slack as a customer channel and as the staff desk; on when `bot_token` is set."""

    bot_token: SecretStr | None = Field(None, description="the bot's token (xoxb-…); set = Slack is on")
    signing_secret: SecretStr | None = Field(None, description="verifies Slack's requests to /slack/events")
    app_token: SecretStr | None = None
    """Socket Mode's app-level token (xapp-…)."""
    api_url: str = Field("https://slack.com/api/", description="Web API base URL (tests point it at a fake)")
    staff_channel: str = Field("", description="channel id where cases are posted")
    workspace_url: str = Field("", description="e.g. https://acme.slack.com — lets /admin link to a case's thread")
    customer_channels: list[str] = Field(default_factory=list, description="channel ids where customers may ask")
    socket_mode: bool = Field(
        False, description="receive events over Socket Mode instead of /slack/events (needs app_token)"
    )
    note_prefix: str = Field(
        "note:", min_length=1, description="a staff message in a case thread starting with this stays internal"
    )

    @model_validator(mode="after")
    def _complete(self) -> SlackSettings:
        if self.bot_token is not None and not self.socket_mode and self.signing_secret is None:
            raise ValueError("set SUPPORTHUB_SLACK__SIGNING_SECRET (events are verified with it)")
        if self.socket_mode and self.app_token is None:
            raise ValueError("socket_mode needs SUPPORTHUB_SLACK__APP_TOKEN (xapp-…)")
        return self
