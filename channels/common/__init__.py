"""What several channels share, none of them owning it (the one markdown parse replies are
rendered from is `core.markdown_tree`): tables as plain-text columns (`text_tables`), the survey's
buttons (`survey_buttons`), the opt-out keywords (`opt_out`), files and votes in the widget's
and the API's bodies (`payloads`), and bounded downloads from a platform's file server
(`downloads`)."""
