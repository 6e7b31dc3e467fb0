"""What the hub's own metrics registry says: for tests that assert a count a person reads on
/metrics (the registry is the process's, so a test compares before and after)."""

from __future__ import annotations

from core.metrics import REGISTRY


def rate_limited(channel: str) -> float:
    """Messages refused by `[limits]` on `channel` so far in this process."""
    value = REGISTRY.get_sample_value(
        "supporthub_webhook_rejections_total", {"channel": channel, "reason": "rate_limited"}
    )
    return value or 0.0
