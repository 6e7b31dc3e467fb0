"""Misspelt query words corrected against the help centre's words; real words and names left alone."""

from __future__ import annotations

import pytest

from knowledge.search.spelling import MAX_WORDS, Speller, english_words

VOCABULARY = {"forgot": 4, "password": 12, "reset": 9, "tickets": 7, "tech": 3, "github": 2, "paypal": 2, "invoice": 6}


@pytest.fixture(scope="module")
def speller() -> Speller:
    return Speller(english_words())


def test_a_misspelt_word_becomes_the_help_centres_word(speller: Speller) -> None:
    assert speller.correct("forgot my pasword", VOCABULARY) == "forgot my password"


def test_two_edits_are_forgiven_in_a_long_word_only(speller: Speller) -> None:
    assert speller.correct("pasword resset", VOCABULARY) == "password reset"
    assert speller.correct("invocee", VOCABULARY) == "invocee"  # seven letters, two edits from invoice
    assert speller.correct("passwrood", VOCABULARY) == "password"  # nine letters: a swap and a missing letter


def test_a_real_english_word_is_not_corrected_to_a_help_centre_word(speller: Speller) -> None:
    assert speller.correct("do you sell stickers?", VOCABULARY) == "do you sell stickers?"


@pytest.mark.parametrize("query", ["what does BD-4012 mean", "can I pay by PayPal", "GitHib login", "teh invoice"])
def test_codes_names_and_short_words_are_untouched(speller: Speller, query: str) -> None:
    # GitHib is one edit from "github" and "teh" from "tech": capitals inside, and under four letters
    assert speller.correct(query, VOCABULARY) == query


def test_a_capitalised_word_keeps_its_capital(speller: Speller) -> None:
    assert speller.correct("Pasword forgotten", VOCABULARY) == "Password forgotten"


@pytest.mark.parametrize(
    ("frequencies", "expected"), [({"export": 9, "expert": 2}, "export"), ({"export": 2, "expert": 9}, "expert")]
)
def test_a_tie_goes_to_the_more_frequent_word(speller: Speller, frequencies: dict[str, int], expected: str) -> None:
    assert speller.correct("exprt my data", frequencies) == f"{expected} my data"


def test_the_rest_of_the_text_is_unchanged(speller: Speller) -> None:
    assert speller.correct("  Forgot my  pasword!!  (again)", VOCABULARY) == "  Forgot my  password!!  (again)"


def test_a_long_text_is_searched_as_written(speller: Speller) -> None:
    long_text = "forgot my pasword " + " ".join(["word"] * MAX_WORDS)
    assert speller.correct(long_text, VOCABULARY) == long_text


def test_a_word_run_together_is_parted_the_way_the_help_centre_writes_it(speller: Speller) -> None:
    vocabulary = {**VOCABULARY, "time": 8, "zone": 5, "timezones": 1, "sign": 9, "in": 30}
    assert speller.correct("how do i change my timezone", vocabulary) == "how do i change my time zone"
    assert speller.correct("Timezone settings", vocabulary) == "Time zone settings"
    assert speller.correct("timezones", vocabulary) == "timezones"  # the help centre's own word
    assert speller.correct("signin", vocabulary) == "signin"  # "in" is too short a part
