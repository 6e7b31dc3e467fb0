"""The channel adapters, one package each, found through their `supporthub.channels` entry points
and speaking to the hub only through `core.channel`'s ports: `web` (the widget), `api` (the REST
API), `slack` (a customer channel and the staff desk), `telegram`, `sms`, `email`, `whatsapp`, and
`messenger` (Facebook Messenger and Instagram messaging, two entry points), `discord` (on the
optional extra `supporthub[discord]`) and `teams` (Microsoft Teams, on the optional extra
`supporthub[teams]`). What several share is
in `common` (reply tables, survey buttons, opt-out words, payloads, downloads, plain text, a
reply's parts, the messaging window, and Meta's webhooks and Graph API calls), and what SMS and
WhatsApp's Twilio route share in `twilio`. Each package also holds
its platform's stand-in (`stand_in`) and its pane on the sandbox page (`sandbox`)."""
