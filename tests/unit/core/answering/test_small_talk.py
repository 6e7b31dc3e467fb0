"""One small-talk detector for the offline answer, the LLM's decline rule and the mood's intent."""

from __future__ import annotations

import pytest

from core.answering.small_talk import SmallTalk, after_greeting, small_talk


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("hi", SmallTalk.GREETING),
        ("Hello there!", SmallTalk.GREETING),
        ("hey hey", SmallTalk.GREETING),
        ("Good morning team, how are you?", SmallTalk.GREETING),
        ("Hello Anna", SmallTalk.GREETING),
        ("thanks!", SmallTalk.THANKS),
        ("Thank you so much", SmallTalk.THANKS),
        ("thanks for the help.", SmallTalk.THANKS),
        ("cheers", SmallTalk.THANKS),
        ("ok, thanks", SmallTalk.THANKS),
        ("Thanks a lot!", SmallTalk.THANKS),
        ("ok, got it", SmallTalk.ACKNOWLEDGEMENT),
        ("bye", SmallTalk.GOODBYE),
        ("Hello, how are you?", SmallTalk.GREETING),
        ("Good morning!", SmallTalk.GREETING),
        ("Guten Tag, wie geht es Ihnen?", SmallTalk.GREETING),
        ("Bonjour à tous, bonne journée !", SmallTalk.GREETING),
        ("Olá, tudo bem com vocês?", SmallTalk.GREETING),
        ("Hola, ¿qué tal?", SmallTalk.GREETING),
        ("Hi there, hope you are well!", SmallTalk.GREETING),
    ],
)
def test_small_talk_and_its_kind(text: str, kind: SmallTalk) -> None:
    assert small_talk(text) is kind


@pytest.mark.parametrize(
    "text",
    [
        "help",
        "",
        "hi, my order 123 is late",
        "thanks, but the invoice is wrong",
        "thanks, but how do I cancel my subscription",
        "thank you can I get a refund",
        "thx why is sync slow",
        "Hi, how do I reset my password?",
        "hi refund",
        "Thanks so much, that fixed it!",
        "Good morning, my invoice is wrong",
        "good",
    ],
)
def test_anything_more_than_small_talk_is_not(text: str) -> None:
    assert small_talk(text) is None


def test_after_greeting_is_what_the_message_says_after_its_pleasantries() -> None:
    assert after_greeting("Hi team, what does BD-4012 mean?") == "what does BD-4012 mean?"
    assert after_greeting("Good morning, how are you doing") == ""
    assert after_greeting("what does BD-4012 mean?") == "what does BD-4012 mean?"
