"""The sandbox: every channel tried without an account (`supporthub sandbox`).

Each platform's stand-in lives beside its channel (`channels/telegram/stand_in.py`, the Bot API
and its file server; `channels/twilio/stand_in.py`, Twilio's REST API; `channels/slack/stand_in.py`,
Slack's Web API; `channels/email/stand_in.py`, an SMTP relay; `channels/whatsapp/stand_in.py`,
Meta's Graph API), with builders of what the platform sends (`stand_in_updates`,
`stand_in_events`, the webhook builders). Those that speak HTTP are `stand_in.StandIn`s (one
way to serve, wait for a record and stop). The test suite drives the real adapters against them; the sandbox (`session`, `page`)
runs the hub against them for a person, with a page of one pane per installed channel that
brings one (`pane`; `channels/<name>/sandbox.py`): they write as its customer, or as staff in
the Slack staff desk's case threads.

They bind only to 127.0.0.1, and `supporthub sandbox` refuses any other interface and keeps
its own database: nothing here reaches a platform or a production database.
"""
