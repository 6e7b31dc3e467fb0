"""Human handoff: when a person should take over (`policy`), and the cases that record it
(`cases`). The staff desk that works the cases comes with the Slack channel."""
