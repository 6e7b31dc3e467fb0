"""The suite's own habits hold (`tests/suite_habits.py`): a slow mark says why, the quick lane
leaves out what it says it does, and every run ends with its peak memory."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HOOKS = "from tests.suite_habits import pytest_collection_modifyitems, pytest_terminal_summary  # noqa: F401\n"
INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\nmarkers =\n    slow(reason): slow\n    browser: a browser\n"
SAMPLE = """
import pytest

def test_quick():
    pass

@pytest.mark.slow("a real process")
def test_slow():
    pass

@pytest.mark.browser
def test_in_a_browser():
    pass
"""


def quick_lane_expression() -> str:
    """The marker expression `make test-quick` runs with."""
    found = re.search(r'^test-quick:.*\n\t.*pytest -m "([^"]+)"', (ROOT / "Makefile").read_text(encoding="utf-8"), re.M)
    assert found is not None, "the Makefile has no test-quick target running pytest -m"
    return found.group(1)


def test_the_quick_lane_leaves_out_the_slow_and_the_browser_tests(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(HOOKS)
    pytester.makeini(INI)
    pytester.makepyfile(test_sample=SAMPLE)
    result = pytester.runpytest("-m", quick_lane_expression())
    result.assert_outcomes(passed=1, deselected=2)
    assert pytester.runpytest().ret == 0  # make test runs them all


def test_a_slow_mark_without_its_reason_is_refused(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(HOOKS)
    pytester.makeini(INI)
    pytester.makepyfile(test_sample="import pytest\n\n@pytest.mark.slow\ndef test_unexplained():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*test_unexplained: a slow mark says why*"])


def test_a_run_ends_with_its_peak_memory_beside_the_ceiling(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(HOOKS)
    pytester.makeini(INI)
    pytester.makepyfile(test_sample="def test_one():\n    pass\n")
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["peak RSS of the test process: * GB (within the 4 GB ceiling)"])
