"""Per-message signals: intent rules, calibrated frustration, VADER polarity, and the trend."""

from __future__ import annotations

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # type: ignore[import-untyped]

from core.answering.sentiment import SentimentAnalyzer, trend
from core.settings import SentimentSettings
from core.turn_context import Intent


@pytest.fixture(scope="module")
def analyzer() -> SentimentAnalyzer:
    return SentimentAnalyzer(SentimentSettings())


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Can I talk to a person?", Intent.HUMAN_REQUEST),
        ("I want to speak to support staff", Intent.HUMAN_REQUEST),
        ("Is there a real person I can chat with?", Intent.HUMAN_REQUEST),
        ("can I get a human", Intent.HUMAN_REQUEST),
        ("Let me speak to someone real.", Intent.HUMAN_REQUEST),
        ("Connect me with a representative now", Intent.HUMAN_REQUEST),
        ("agent please", Intent.HUMAN_REQUEST),
        ("Hi, I'd like to talk to your manager. This is unacceptable!", Intent.HUMAN_REQUEST),
        ("Is there a human-readable export?", Intent.QUESTION),
        ("Can I get a human-readable invoice?", Intent.QUESTION),
        ("Do you have an agent API?", Intent.QUESTION),
        ("I'm an agent at a travel company, how do I add clients?", Intent.QUESTION),
        ("hi", Intent.GREETING),
        ("Hello!", Intent.GREETING),
        ("Good morning team, how are you?", Intent.GREETING),
        ("Hello Anna", Intent.GREETING),
        ("hey hey", Intent.GREETING),
        ("This is terrible service.", Intent.COMPLAINT),
        ("I'm really disappointed with the update.", Intent.COMPLAINT),
        ("I want a refund for this.", Intent.COMPLAINT),
        ("Worst experience ever", Intent.COMPLAINT),
        ("This is ridiculous, it's STILL not working!!! third time I ask", Intent.COMPLAINT),
        ("Why does this keep failing???", Intent.COMPLAINT),
        ("how do I reset my password?", Intent.QUESTION),
        ("Hi, how do I reset my password?", Intent.QUESTION),
        ("What are your opening hours", Intent.QUESTION),
        ("Does the Pro plan include SSO?", Intent.QUESTION),
        ("Can I get a refund?", Intent.QUESTION),
        ("Is this legal?", Intent.QUESTION),
        ("Please cancel my subscription.", Intent.REQUEST),
        ("I'd like to change my billing address.", Intent.REQUEST),
        ("I\u2019d like to change my billing address.", Intent.REQUEST),
        ("I need to update my email", Intent.REQUEST),
        ("Cancel my order", Intent.REQUEST),
        ("Reset my password please", Intent.REQUEST),
        ("My order number is 12345.", Intent.OTHER),
        ("Thanks so much, that fixed it!", Intent.OTHER),
        ("The app crashes when I open it", Intent.OTHER),
        ("", Intent.OTHER),
    ],
)
def test_intent(analyzer: SentimentAnalyzer, text: str, intent: Intent) -> None:
    assert analyzer.analyze(text).intent is intent


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("how do I reset my password?", 0.0, 0.0),
        ("What are your opening hours", 0.0, 0.0),
        ("Thank you!", 0.0, 0.0),
        ("Thanks so much, that fixed it!", 0.0, 0.0),
        ("thanks again", 0.0, 0.0),
        ("THANK YOU SO MUCH!!!", 0.0, 0.0),
        ("this is a bit annoying", 0.2, 0.45),
        ("not great", 0.2, 0.45),
        ("It still doesn't work", 0.3, 0.6),
        ("WHERE IS MY ORDER???", 0.3, 0.6),
        ("I WANT THIS FIXED NOW", 0.15, 0.45),
        ("This is so frustrating, I'm fed up", 0.5, 0.7),
        ("This is ridiculous, it's STILL not working!!! third time I ask", 0.7, 1.0),
        ("I am sick of this useless app", 0.7, 1.0),
    ],
)
def test_frustration_is_calibrated(analyzer: SentimentAnalyzer, text: str, low: float, high: float) -> None:
    assert low <= analyzer.analyze(text).frustration <= high


@pytest.mark.parametrize(
    "text",
    ["It still doesn't work", "It still doesn\u2019t work", "it still doesnt work", "IT STILL DOESN\u2019T WORK"],
)
def test_phrases_match_whatever_the_apostrophe_and_case(analyzer: SentimentAnalyzer, text: str) -> None:
    no_phrases = SentimentAnalyzer(SentimentSettings(frustration_phrases=[]))
    assert analyzer.analyze(text).frustration == pytest.approx(no_phrases.analyze(text).frustration + 0.3)


@pytest.mark.parametrize(
    ("calm", "worked_up"),
    [
        ("where is my order", "where is my order???"),
        ("where is my order", "WHERE IS MY ORDER"),
        ("the export is broken", "the export is broken again"),
        ("the export is broken", "the export is broken, what a waste of time"),
    ],
)
def test_each_marker_raises_frustration(analyzer: SentimentAnalyzer, calm: str, worked_up: str) -> None:
    assert analyzer.analyze(worked_up).frustration > analyzer.analyze(calm).frustration


def test_configured_phrases_are_used() -> None:
    text = "the widget is borked"
    custom = SentimentAnalyzer(SentimentSettings(frustration_phrases=["is borked"]))
    assert custom.analyze(text).frustration == pytest.approx(0.3)
    assert SentimentAnalyzer(SentimentSettings()).analyze(text).frustration == 0.0


def test_a_phrase_matches_whole_words_only() -> None:
    custom = SentimentAnalyzer(SentimentSettings(frustration_phrases=["fed up"]))
    assert custom.analyze("I got fed up").frustration == pytest.approx(0.3)
    assert custom.analyze("we fed upstream data").frustration == 0.0


@pytest.mark.parametrize("text", ["I love it", "This is awful", "how do I reset my password?", ""])
def test_polarity_is_vaders_compound(analyzer: SentimentAnalyzer, text: str) -> None:
    assert analyzer.analyze(text).polarity == SentimentIntensityAnalyzer().polarity_scores(text)["compound"]


@pytest.mark.parametrize(
    ("polarities", "window", "expected"),
    [
        ([], 3, 0.0),
        ([-0.8], 3, 0.0),
        ([0.5, -0.5], 3, -1.0),
        ([0.6, 0.0, -0.6], 3, -0.6),  # odd count: the oldest is left out
        ([0.2, 0.4, -0.2, -0.4], 3, -0.6),
        ([0.9, 0.9, 0.3, 0.3, 0.3, -0.3, -0.3, -0.3], 3, -0.6),  # older messages ignored
        ([-0.5, -0.5, 0.5, 0.5], 2, 1.0),
        ([0.1, 0.1, 0.1, 0.1], 1, 0.0),
    ],
)
def test_trend(polarities: list[float], window: int, expected: float) -> None:
    assert trend(polarities, window=window) == pytest.approx(expected)


def test_trend_needs_a_window() -> None:
    with pytest.raises(ValueError, match="window"):
        trend([0.1, 0.2], window=0)
