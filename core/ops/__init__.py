"""Running the hub: the runtime's wiring, leadership among processes, scheduled jobs, the
re-index child process, metrics, logs, readiness and what guards every request."""
