"""The inbox at /admin/inbox, a staff desk in the browser: its pages and actions (`views`), what
it shows (`queries`), its live updates by server-sent events (`live`) and its one small script
(`inbox.js`)."""
