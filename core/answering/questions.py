"""The questions in a customer's message: what is searched and quoted.

Customers write "Hi! I'm Omar, the office manager at a 40-person agency, we moved from Asana
last month. How can I get all our projects out as a spreadsheet?". The facts before the
question are for memory and mood; searched with the question they steer retrieval toward
whatever they mention (the billing article for "I'm on the Pro plan"). So a message is cut
into sentences (and "…, and how do I …" clauses; a comma alone does not part a question from
its context: "In Gmail, how do I archive?" is one), and the sentences that ask or request
something are the questions; a message that asks nothing recognisable is searched whole, as
before.

A question of a few words (`MAX_LEANING_WORDS`) may lean on the sentence before it, which often names what it is about:
"How much is it?", "Can you tell me?" after "He wants to know whether you keep backups",
"How many users are included?" after "We are on the Starter plan". It may as well not: "I need
to reset my password." after "My name is Dana.". So such a question has two readings, alone and
with the sentence before it, and a third after a longer story: with the statements before it
("…her pendant alarm goes through the phone line and the line has been dead since yesterday.
she has no mobile. who do I call??"); all are searched, and the one whose best passage matches
better is kept (`core.answering.agent.ask_each`). On the sample help centre's held-out lines this
answered 5 more in 100 at the same bar; its calibration lines hold no such questions.

A sentence asks in another shipped language too: beyond a final "?", when it starts the way
that language's questions start ("¿", "Wie", "Comment", "Posso") or requests ("bitte", "por
favor", "je voudrais") — `core.answering.mood_languages`, the same cues the mood reading uses.
The message's language is not needed: these cues are read in every message.
"""

from __future__ import annotations

import re
from functools import lru_cache

from core.answering.memory import introduces
from core.answering.mood_languages import RULES
from core.answering.small_talk import after_greeting, small_talk
from knowledge.asking import asks, content_words

MAX_QUESTIONS = 5
"""At most this many searches per message: beyond it, the remaining questions are searched
together as the last one (a long email must not cost hundreds of searches)."""
MAX_LEANING_WORDS = 8
"""A question with at most this many content words may lean on the sentence before it: nearly
every customer's question ("Can I cancel and get my money back?" after "I booked a bulky
collection for tomorrow…"). Each reading is searched and the better match is answered, so a
question that names its subject keeps its own reading. At 3 (until 2026-11-28) a question of
four words stood alone: 179 of the 330 questions of the looked-at help centres scored, 187 at 8."""
MAX_STORY_SENTENCES = 4
"""How many statements the third reading of a leaning question takes (`_story`)."""

_SENTENCE = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n+")
_CLAUSE = re.compile(
    r"\s*(?:[,;]\s*|\s)(?:and|also|plus|or)\s+(?=(?:how|what|where|when|why|which|who)\b|"
    r"(?:can|could|do|does|is|are|will|should)\s+(?:i|we|you|it|they|there|my|our|the|a)\b)",
    re.IGNORECASE,
)
_CONNECTOR = re.compile(
    r"^(?:(?:and|also|plus|so|oh|btw|by\s+the\s+way|one\s+more\s+thing|"
    r"(?:i\s+(?:have|had|got)\s+)?(?:(?:a|one|another|more|last|quick|short|small|simple|little|brief)\s+)*questions?"
    r"(?:\s+for\s+(?:you|the\s+team))?(?=\s*[:,;-]))\b[\s,:;-]*)+",
    re.IGNORECASE,
)
"""What opens a question without saying what it is about: "Also, …", "by the way …", and the
announcement of one ("quick question: …", "I have a question for you - …"; "question about
invoices: …" names its subject and stays)."""
_WORDY = re.compile(r"[^\W_]")
_PRONOUN = re.compile(r"\b(?:it|its|this|that|these|those|they|them|their|one|he|she|him|her|his)\b", re.IGNORECASE)


def questions(message: str) -> list[str]:
    """The message's questions and requests in order (at most MAX_QUESTIONS); `[message]` when
    it asks nothing recognisable (a bare keyword, a statement of a problem without a verb of
    asking)."""
    return [found[0] for found in readings(message)]


def readings(message: str) -> list[tuple[str, ...]]:
    """Each question of `message` (`questions`) with, when it may lean on the sentence before it,
    those readings too: `(question,)`, `(question, "sentence before. question")` or, after a
    longer story, `(…, "the story. question")` (`_story`)."""
    return list(_readings_of(message))


@lru_cache(maxsize=256)
def _readings_of(message: str) -> tuple[tuple[str, ...], ...]:
    """`readings`, kept for the latest messages: a message's are worked out as it arrives (its
    encode begun, `Agent.prepare`) and again in its turn, 0.2 ms of the event loop's each."""
    if small_talk(message) is not None:  # "Hello, how are you?" is a greeting, not the question "?"
        return ((message.strip(),),)
    sentences = _sentences(message)
    asking = [i for i, sentence in enumerate(sentences) if _asks(sentence)]
    if not asking:
        told = [s for s in sentences if small_talk(s) is None]
        return ((" ".join(told),),) if told else ((message.strip(),),)
    found = [_readings(sentences, i) for i in asking]
    if len(found) > MAX_QUESTIONS:
        found = [*found[: MAX_QUESTIONS - 1], (" ".join(sentences[i] for i in asking[MAX_QUESTIONS - 1 :]),)]
    return tuple(found)


def statements(message: str) -> str:
    """What the message says besides its questions (`readings`), joined: the facts a question
    leans on for its numbers ("…its about 20 hours till we sail" after "do i get my money
    back?"). Empty when it asks nothing, or only asks."""
    sentences = _sentences(message)
    if not any(_asks(sentence) for sentence in sentences):
        return ""
    return " ".join(s for s in sentences if not _asks(s) and small_talk(s) is None)


def asks_anything(message: str) -> bool:
    """Whether any sentence of the message asks or requests something (see `questions`)."""
    return any(_asks(sentence) for sentence in _sentences(message))


def _sentences(message: str) -> list[str]:
    pieces = [after_greeting(piece.strip()) for piece in _SENTENCE.split(message.strip())]
    clauses = (_CONNECTOR.sub("", clause.strip()) for piece in pieces if piece for clause in _CLAUSE.split(piece))
    return [clause for clause in clauses if _WORDY.search(clause)]  # "?" is what a greeting's courtesy leaves


def _asks(sentence: str) -> bool:
    return small_talk(sentence) is None and (asks(sentence) or _asks_in_another_language(sentence))


def _asks_in_another_language(sentence: str) -> bool:
    return bool(content_words(sentence)) and any(
        rules.question.match(sentence) or rules.request.search(sentence) for rules in RULES.values()
    )


def _readings(sentences: list[str], index: int) -> tuple[str, ...]:
    sentence = sentences[index]
    if index == 0 or not _leans(sentence, on=sentences[index - 1]):
        return (sentence,)
    story = _story(sentences, index)
    told = (f"{' '.join(story)} {sentence}",) if len(story) > 1 else ()
    return (sentence, f"{sentences[index - 1]} {sentence}", *told)


def _story(sentences: list[str], index: int) -> list[str]:
    """The statements right before the question at `index` (at most MAX_STORY_SENTENCES), back
    to the question before it, without introductions or small talk ("Thanks!"): what "who do I
    call??" is about after "her pendant alarm goes through the phone line and the line has been
    dead since yesterday. she has no mobile."."""
    story: list[str] = []
    for before in reversed(sentences[:index]):
        if _asks(before) or len(story) == MAX_STORY_SENTENCES:
            break
        if not introduces(before) and small_talk(before) is None:
            story.insert(0, before)
    return story


def _leans(sentence: str, *, on: str) -> bool:
    """Whether a question may lean on the sentence before it: a short one may, on a statement
    ("We are on the Starter plan. How many users are included?"); on another question only when it
    points back ("Do you have a Slack integration? Can it post to a channel?"), for "…encrypted? and can I pay by
    PayPal" is a question of its own; never on an introduction ("I'm Dana."), which names the
    customer, not the subject."""
    if len(content_words(sentence)) > MAX_LEANING_WORDS:
        return False
    if _asks(on):
        return _PRONOUN.search(sentence) is not None
    return not introduces(on)
