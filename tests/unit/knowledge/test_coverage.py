"""Coverage: the rarity-weighted share of a query's words that a passage holds."""

from __future__ import annotations

import math

import pytest

from knowledge.search.coverage import content_words, coverage, query_weights, words


def test_different_forms_of_a_word_match_by_stem() -> None:
    weights = query_weights("is our data encrypted", {"data": 3, "encrypted": 1}, 10)
    assert coverage(weights, "Encryption\nAll data is encrypted at rest and in transit.") == 1.0
    assert coverage(query_weights("encrypted", {}, 10), "Encryption") == 1.0


def test_stop_words_are_not_part_of_the_query() -> None:
    assert set(query_weights("how do I reset my password?", {}, 10)) == {"reset", "password"}
    assert content_words("How do I reset my password?") == {"reset", "password"}


def test_a_rare_word_counts_more_than_a_common_one() -> None:
    frequency, chunks = {"account": 90, "sso": 2}, 100
    weights = query_weights("account sso", frequency, chunks)
    common, rare = math.log(1 + 101 / 91), math.log(1 + 101 / 3)
    assert weights == pytest.approx({"account": common, "sso": rare})
    assert coverage(weights, "Your account settings") == pytest.approx(common / (common + rare))
    assert coverage(weights, "Setting up SSO") == pytest.approx(rare / (common + rare))
    assert coverage(weights, "Setting up SSO") > coverage(weights, "Your account settings")


def test_a_word_no_chunk_holds_weighs_most() -> None:
    weights = query_weights("refund chargeback", {"refund": 5}, 10)
    assert weights == pytest.approx({"refund": math.log(1 + 11 / 6), "chargeback": math.log(1 + 11)})
    assert weights["chargeback"] > weights["refund"]


@pytest.mark.parametrize("query", ["", "how do I?", "???"])
def test_a_query_without_content_words_covers_nothing(query: str) -> None:
    assert coverage(query_weights(query, {}, 10), "how do I reset my password") == 0.0


def test_codes_stay_whole_joined_words_part_and_contractions_lose_their_tail() -> None:
    assert words("I can't sign-in: BD-4012 in v4.2.1, e.g. where's it?") == [
        "can",
        "sign",
        "in",
        "bd-4012",
        "in",
        "v4.2.1",
        "where",
        "it",
    ]


def test_a_neighbouring_code_does_not_cover_the_code_asked_about() -> None:
    weights = {"bd-4012": 2.0, "mean": 1.0}
    assert coverage(weights, "Code: BD-4011. Meaning: Card declined.") == pytest.approx(1 / 3)
    assert coverage(weights, "Code: BD-4012. Meaning: Seat limit reached.") == 1.0


def test_a_number_joined_to_what_it_counts_is_both_words() -> None:
    """A "1-hour lesson" holds "hour", as "2 hours" does; a code stays whole."""
    assert words("a 1-hour lesson, a 3-bed semi, 1.5-litre, BD-4012, covid-19") == [
        "1",
        "hour",
        "lesson",
        "3",
        "bed",
        "semi",
        "1.5",
        "litre",
        "bd-4012",
        "covid-19",
    ]
    assert coverage(query_weights("an hour lesson", {}, 10), "1-hour lesson") == 1.0


@pytest.mark.parametrize(
    ("plural", "singular"), [("DVDs", "dvd"), ("CDs", "CD"), ("TVs", "tv"), ("dvds", "DVD"), ("MY TVS", "my tv")]
)
def test_an_initialism_s_written_plural_is_its_singular(plural: str, singular: str) -> None:
    assert content_words(plural) == content_words(singular)


@pytest.mark.parametrize(
    ("initialism", "other"), [("GPS", "GP"), ("SMS", "sm"), ("NHS", "NH"), ("gps", "gp"), ("bus", "bu")]
)
def test_a_word_ending_in_s_is_not_taken_for_a_plural_by_its_letters(initialism: str, other: str) -> None:
    """ "GPS" written in capitals is a word of its own, not the plural of "GP"."""
    assert content_words(initialism) != content_words(other)


@pytest.mark.parametrize(
    ("plural", "singular"),
    [
        ("teeth", "tooth"),
        ("Children", "child"),
        ("grandchildren", "grandchild"),
        ("knives", "knife"),
        ("childrens swimming", "children swimming"),
        ("womens only", "women only"),
    ],
)
def test_an_irregular_plural_is_its_singular(plural: str, singular: str) -> None:
    """ "she's 7 months and no teeth yet" meets "from when their first tooth appears"."""
    assert content_words(plural) == content_words(singular)


@pytest.mark.parametrize(("verb", "base"), [("leaves", "leave"), ("lives", "live")])
def test_a_plural_that_is_also_a_verb_keeps_meeting_the_verb(verb: str, base: str) -> None:
    """ "the ferry leaves at 9" is about leaving, not about a leaf."""
    assert content_words(verb) == content_words(base)


@pytest.mark.parametrize(("plural", "other"), [("men", "manned"), ("men", "Isle of Man"), ("7 feet", "on foot")])
def test_a_plural_whose_singular_means_more_stays_apart(plural: str, other: str) -> None:
    """ "are the men's showers open?" is not met by "Reception is manned from 7am"."""
    assert not content_words(plural) & content_words(other)


def test_a_number_joined_to_one_letter_is_a_code() -> None:
    weights = query_weights("what's the code for room 2-b", {}, 10)
    assert coverage(weights, "Room 2-A door code: 4471") < 1.0
