"""Human handoff: when a person should take over (`policy`), the cases that record it
(`cases`), and the staff desk where people work them (`desk`, through a channel's port)."""
