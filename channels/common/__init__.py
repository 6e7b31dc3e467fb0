"""What several channels share, none of them owning it (the one markdown parse replies are
rendered from is `core.markdown_tree`): tables as plain-text columns (`text_tables`), the survey's
buttons (`survey_buttons`), the opt-out keywords (`opt_out`), files and votes in the widget's
and the API's bodies (`payloads`), bounded downloads from a platform's file server
(`downloads`), markdown as plain text (`plain_text`), a reply fitted to a chat platform's message
length (`reply_parts`), our markdown in a chat platform's own (`chat_markdown`: Discord, Teams),
a platform's messaging window (`reply_window`), and what WhatsApp's Cloud
API, Messenger and Instagram share on Meta's side (`meta_graph`: the webhook's handshake and
signature, Graph API calls and errors, fetching a file)."""
