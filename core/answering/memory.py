"""Memory without a model: facts a customer states about themselves, questions about them,
the recent turns that fit a token budget, and an extractive rolling summary.

Facts are found by patterns that need the customer's own framing ("my name is …", "order
number …", "I'm on the Pro plan"), so a name is not guessed from "I'm having trouble". With an
LLM configured the model's `remember_fact` adds to them; both are stored with the message
they came from (see core.pipeline.turn_transactions).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import takewhile

from core.languages import N_, _, listing
from core.messages import Author, Reply
from core.quoting import literal
from core.turn_context import Fact, FactKey, PastMessage

SINGLE_VALUED = frozenset({FactKey.NAME, FactKey.EMAIL, FactKey.PHONE, FactKey.PLAN})
"""Keys whose newest value replaces the older one when recalled; order numbers and
preferences accumulate."""

CHARS_PER_TOKEN = 4
"""A budget estimate, not a tokenizer: English averages about four characters a token, and
shipping a tokenizer that matches every OpenAI-compatible model is not possible."""
MESSAGE_OVERHEAD_TOKENS = 4
SUMMARY_MAX_LINES = 12
SUMMARY_LINE_CHARS = 160
SUMMARY_SCAN_CHARS = 2000
"""How much of a message its summary line is looked for in: the summary runs on the event loop
over every message it folds in (up to `memory.summarize_after`, each as long as its channel
allows), and a message's first sentence is at its start; 20 messages of 100,000 characters
in short lines took 73 ms whole."""

_NAME_WORD = r"[A-Za-zÀ-ÖØ-öø-ÿ][A-Za-zÀ-ÖØ-öø-ÿ'\-]+"
_NOT_NAMES = frozenset(
    [
        "not",
        "a",
        "an",
        "the",
        "having",
        "trying",
        "looking",
        "still",
        "just",
        "very",
        "so",
        "really",
        "sorry",
        "new",
        "here",
        "back",
        "fine",
        "good",
        "ok",
        "okay",
        "afraid",
        "unable",
        "done",
        "ready",
        "sure",
        "happy",
        "tired",
        "lost",
        "upset",
        "angry",
        "annoyed",
        "furious",
        "frustrated",
        "disappointed",
        "confused",
        "stuck",
        "using",
        "on",
        "in",
        "with",
        "from",
        "at",
    ]
)
_NAME_ENDS = frozenset(
    [
        "and",
        "or",
        "but",
        "nor",
        "so",
        "yet",
        "because",
        "since",
        "as",
        "if",
        "when",
        "while",
        "then",
        "my",
        "i",
        "i'm",
        "is",
        "was",
    ]
)
"""Words that end a name: "my name is Alice and my order is late" names Alice. Punctuation
ends one too, as a name's words are joined by spaces only."""
_NAME = re.compile(
    rf"\b(?:my name is|my name's|name's|call me|i am called|i'm called)\s+({_NAME_WORD}(?:\s+{_NAME_WORD})?)",
    re.IGNORECASE,
)
_INTRO = re.compile(
    rf"^(?:(?:hi|hello|hey)\b[\s,!]*)?(?:i'm|i am)\s+({_NAME_WORD})\s*(?:[,!.]|$|here\b|from\b)",
    re.IGNORECASE,
)
"""An introduction opening the message ("Hi, I'm Priya, from Acme", "hi, I'm Dana."); the name must be
capitalised as written, so "I'm done here" or "I am furious!" name nobody."""
MAX_INTRODUCTION_WORDS = 6
"""A sentence naming the customer in at most this many words is only an introduction."""
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
_PHONE = re.compile(
    r"(?:\b(?:phone|mobile|cell|number is|reach me at|call me at|text me at)\b[^+\d]{0,20})(\+?\d[\d\s().-]{6,}\d)"
    r"|(?<![\w+])(\+\d[\d\s().-]{7,}\d)",
    re.IGNORECASE,
)
_PLAN = re.compile(
    r"\b(?:i'm on|i am on|we're on|we are on|i have|we have|i pay for|we pay for|subscribed to)"
    r"\s+(?:the\s+|a\s+|an\s+)?([A-Za-z][A-Za-z+]*)\s+plan\b"
    r"|\b(?:my|our) plan is\s+(?:the\s+)?([A-Za-z][A-Za-z+]*)\b",
    re.IGNORECASE,
)
_ORDER = re.compile(
    r"\b(?:order|invoice|ticket)\s*(?:number|no\.?|#|id)?\s*(?:is|was|:)?\s*#?\s*([A-Z0-9][A-Z0-9-]{3,})\b",
    re.IGNORECASE,
)
_PREFERENCE = re.compile(
    r"\b(?:i(?:'d| would)? prefer|please (?:always )?(?:reply|answer|write|contact me|respond))\s+(.{3,80}?)\s*(?:[.!?]|$)",
    re.IGNORECASE,
)
_RECALL = re.compile(
    r"\b(?:what(?:'s| is| was| are| were)?|do you (?:know|remember|have)|tell me|remind me(?: of| what)?|which is)"
    r"\s+(?:my|our)\s+(name|e-?mail(?: address)?|phone(?: number)?|plan|orders?(?: numbers?| no\.?| ids?)?|preferences?)"
    r"(?:\s+again)?\s*[?.!]*\s*$",
    re.IGNORECASE,
)
"""A question that ends at the fact it asks for: "what's my plan?" — not "what's my plan
limit on projects?", which is for the help centre."""
_WHO_AM_I = re.compile(r"\bwho am i\s*[?.!]*\s*$", re.IGNORECASE)
_WHICH_PLAN = re.compile(
    r"\b(?:which|what) plan (?:am i on|are we on|do i have|do we have|have i got|have we got)\s*[?.!]*\s*$",
    re.IGNORECASE,
)
_LABEL = {
    FactKey.NAME: N_("name"),
    FactKey.EMAIL: N_("email address"),
    FactKey.PHONE: N_("phone number"),
    FactKey.PLAN: N_("plan"),
    FactKey.ORDER_NUMBER: N_("order number"),
    FactKey.PREFERENCE: N_("preference"),
}
"""What a fact is, as the acknowledgement lists it ("I've noted your order number and plan")."""
_UNTOLD = {
    FactKey.NAME: N_("You haven't told me your name yet."),
    FactKey.EMAIL: N_("You haven't told me your email address yet."),
    FactKey.PHONE: N_("You haven't told me your phone number yet."),
    FactKey.PLAN: N_("You haven't told me your plan yet."),
    FactKey.ORDER_NUMBER: N_("You haven't told me your order number yet."),
    FactKey.PREFERENCE: N_("You haven't told me your preferences yet."),
}
_RECALLED = {
    FactKey.NAME: N_("Your name is {value}."),
    FactKey.EMAIL: N_("Your email address is {value}."),
    FactKey.PHONE: N_("Your phone number is {value}."),
    FactKey.PLAN: N_("Your plan is {value}."),
    FactKey.ORDER_NUMBER: N_("Your order numbers: {values}."),
    FactKey.PREFERENCE: N_("Your preferences: {values}."),
}
"""Whole sentences per fact, so a language can agree its words with each ("Ihre E-Mail-Adresse")."""


def extract_facts(text: str) -> list[Fact]:
    """Facts the customer states about themselves in `text`, in the order found."""
    found: list[Fact] = []
    if (match := _NAME.search(text)) and match.group(1).split()[0].lower() not in _NOT_NAMES:
        words = takewhile(lambda word: word.lower() not in _NAME_ENDS, match.group(1).split())
        name = " ".join(w for w in words if w.lower() not in _NOT_NAMES)
        found.append(Fact(FactKey.NAME, name[:1].upper() + name[1:]))
    elif (
        (match := _INTRO.search(text.strip()))
        and match.group(1)[0].isupper()
        and match.group(1).lower() not in _NOT_NAMES
    ):
        found.append(Fact(FactKey.NAME, match.group(1)))
    found += [Fact(FactKey.EMAIL, m.group(0).lower()) for m in _EMAIL.finditer(text)]
    for m in _PHONE.finditer(text):
        found.append(Fact(FactKey.PHONE, re.sub(r"[\s().-]", "", m.group(1) or m.group(2))))
    if plan_match := _PLAN.search(text):
        plan = plan_match.group(1) or plan_match.group(2)
        if plan.lower() not in _NOT_NAMES | {"same", "new", "old", "current", "which", "what"}:
            found.append(Fact(FactKey.PLAN, plan[:1].upper() + plan[1:]))
    found += [
        Fact(FactKey.ORDER_NUMBER, m.group(1).upper())
        for m in _ORDER.finditer(text)
        if any(c.isdigit() for c in m.group(1))
    ]
    found += [Fact(FactKey.PREFERENCE, m.group(1).strip()) for m in _PREFERENCE.finditer(text)]
    unique: dict[tuple[str, str], Fact] = {}
    for fact in found:
        unique.setdefault((fact.key, fact.value), fact)
    return list(unique.values())


def introduces(sentence: str) -> bool:
    """Whether a sentence only introduces the customer ("I'm Dana.", "My name is Ana Lopez."):
    it names who writes, not what they ask about."""
    named = any(fact.key == FactKey.NAME for fact in extract_facts(sentence))
    return named and len(sentence.split()) <= MAX_INTRODUCTION_WORDS


def recall_key(text: str) -> FactKey | None:
    """The fact a question asks back ("what's my name?" → name), or None."""
    if _WHO_AM_I.search(text):
        return FactKey.NAME
    if _WHICH_PLAN.search(text):
        return FactKey.PLAN
    match = _RECALL.search(text)
    if match is None:
        return None
    word = match.group(1).lower().replace("-", "")
    if word.startswith("order"):
        return FactKey.ORDER_NUMBER
    if word.startswith("preference"):
        return FactKey.PREFERENCE
    return FactKey(word.split()[0])


def current_values(facts: Sequence[Fact], key: FactKey) -> list[str]:
    """What we know for `key`: the newest value of a single-valued key, else every value."""
    matching = [f for f in facts if f.key == key]
    if key in SINGLE_VALUED:
        matching = matching[-1:]
    return [f.value for f in matching]


def recall_reply(key: FactKey, facts: Sequence[Fact]) -> Reply:
    values = [literal(value) for value in current_values(facts, key)]
    if not values:
        return Reply(_(_UNTOLD[key]))
    if key in SINGLE_VALUED:
        return Reply(_(_RECALLED[key], value=values[0]))
    return Reply(_(_RECALLED[key], values=", ".join(values)))


def acknowledgement(facts: Sequence[Fact]) -> Reply:
    """A reply to a message that only told us something about the customer."""
    names = [literal(f.value) for f in facts if f.key == FactKey.NAME]
    noted = [_(_LABEL[f.key]) for f in facts if f.key != FactKey.NAME]
    parts = [_("Nice to meet you, {name}!", name=names[0])] if names else []
    if noted:
        parts.append(_("Thanks, I've noted your {facts}.", facts=listing(list(dict.fromkeys(noted)))))
    parts.append(_("How can I help?"))
    return Reply(" ".join(parts))


def estimated_tokens(text: str) -> int:
    return len(text) // CHARS_PER_TOKEN + MESSAGE_OVERHEAD_TOKENS


def within_budget(messages: Sequence[PastMessage], budget_tokens: int) -> tuple[list[PastMessage], list[PastMessage]]:
    """(older, recent): the newest messages whose estimated tokens fit the budget, and the rest."""
    spent, start = 0, len(messages)
    while start > 0:
        cost = estimated_tokens(messages[start - 1].text)
        if spent + cost > budget_tokens:
            break
        spent += cost
        start -= 1
    return list(messages[:start]), list(messages[start:])


def extractive_summary(previous: str | None, messages: Sequence[PastMessage]) -> str:
    """A rolling summary without a model: one line per customer message (its first sentence)
    and per answer (what it said first), appended to the previous summary, newest kept."""
    lines = [line for line in (previous or "").splitlines() if line.startswith("- ")]
    for message in messages:
        if message.author is Author.CUSTOMER:
            lines.append(f"- Customer: {_first_sentence(message.text)}")
        elif message.declined:
            lines.append("- Bot: could not answer from the help centre.")
        else:
            who = "Staff" if message.author is Author.STAFF else "Bot"
            lines.append(f"- {who}: {_first_sentence(message.text)}")
    return "Earlier in this conversation:\n" + "\n".join(lines[-SUMMARY_MAX_LINES:])


def _first_sentence(text: str) -> str:
    flat = " ".join(line.lstrip("> ").strip() for line in text[:SUMMARY_SCAN_CHARS].splitlines() if line.strip())
    sentence = re.split(r"(?<=[.!?])\s", flat, maxsplit=1)[0]
    return sentence if len(sentence) <= SUMMARY_LINE_CHARS else sentence[: SUMMARY_LINE_CHARS - 1] + "…"
