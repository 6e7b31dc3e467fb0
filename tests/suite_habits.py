"""The suite's own habits, as pytest hooks (tests/conftest.py takes them in):

- Hypothesis profiles instead of example counts written into tests: `dev` (the default, quick)
  and `ci` (`.ci/run` sets HYPOTHESIS_PROFILE=ci), each test keeping only what is its own
  (`deadline=None`, a health check it must suppress); a test through a running hub takes its
  examples from `THROUGH_THE_HUB`, fewer than a pure function's.
- A `slow` mark says why (`@pytest.mark.slow("real serve processes")`): `make test-quick`
  leaves those out, `make test` and CI run them.
- The run ends with the test process's peak memory, beside the ceiling the suite must keep.
"""

from __future__ import annotations

import os
import resource

import pytest
from hypothesis import settings

HYPOTHESIS_PROFILE_ENV = "HYPOTHESIS_PROFILE"
PEAK_RSS_CEILING_GB = 4.0
"""What the whole suite may hold at its peak (issue 54): one process, every test in it."""

PROFILE = os.environ.get(HYPOTHESIS_PROFILE_ENV, "dev")
settings.register_profile("ci", max_examples=400, print_blob=True)  # the most a pure function's test asked for
settings.register_profile("dev", max_examples=20)
settings.load_profile(PROFILE)
THROUGH_THE_HUB = settings(max_examples={"ci": 120}.get(PROFILE, 10), deadline=None)
"""For a property checked through a running hub (tests/integration/test_fuzz.py), where every
example is a request: in CI as many as those tests ran when each wrote its own count."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        mark = item.get_closest_marker("slow")
        if mark is not None and not (mark.args or mark.kwargs.get("reason")):
            raise pytest.UsageError(
                f"{item.nodeid}: a slow mark says why, e.g. @pytest.mark.slow('a real serve process')"
            )


def peak_rss_gb() -> float:
    """The test process's own peak resident memory (Linux reports it in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    peak = peak_rss_gb()
    verdict = "within" if peak <= PEAK_RSS_CEILING_GB else "OVER"
    terminalreporter.write_line(
        f"peak RSS of the test process: {peak:.2f} GB ({verdict} the {PEAK_RSS_CEILING_GB:g} GB ceiling)"
    )
