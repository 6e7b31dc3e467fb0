"""The sandbox: every channel tried without an account (`supporthub sandbox`).

Local stand-ins of the platforms, each an aiohttp (or aiosmtpd) server on 127.0.0.1 that
answers the real SDK the way the platform does: `telegram_api` (the Bot API and its file
server), `twilio_api` (Twilio's REST API), `slack_api` (Slack's Web API), `smtp_relay` (an SMTP
relay), with `slack_events`, `telegram_updates` and `twilio_api`'s webhook builders for what
the platforms send. The test suite drives the real adapters against them; the sandbox
(`session`, `page`) runs the hub against them for a person, with a page where they write as a
Telegram user, an SMS sender and an email customer, and answer as staff in a Slack case thread.

They bind only to 127.0.0.1, and `supporthub sandbox` refuses any other interface and keeps
its own database: nothing here reaches a platform or a production database.
"""
