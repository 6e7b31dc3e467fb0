"""`present` hands back what the code guarantees is there, and names what was missing when it is not."""

from __future__ import annotations

import pytest

from core.invariants import InvariantError, present


@pytest.mark.parametrize("value", ["a conversation", 0, "", [], False])
def test_a_value_is_returned_as_it_is(value: object) -> None:
    assert present(value, "the value") is value


def test_none_raises_naming_what_is_missing() -> None:
    with pytest.raises(InvariantError, match=r"^the case's conversation is missing$"):
        present(None, "the case's conversation")


def test_an_invariant_error_is_a_runtime_error_not_an_assertion() -> None:
    """It survives `python -O`, and no handler of AssertionError or ValueError (bad input) takes it."""
    assert issubclass(InvariantError, RuntimeError)
    assert not issubclass(InvariantError, (AssertionError, ValueError))
