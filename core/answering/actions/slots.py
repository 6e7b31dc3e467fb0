"""An action's parameters without an LLM: what the customer already gave, what the message says,
what memory holds; the question for a missing one, the reply to it, and yes or no.

Nothing is guessed. A value is read from the message only where the parameter's schema says
what one looks like: a `pattern` (searched with its anchors removed, whole words first), an
`enum` (one of its values said as a word), or a name memory knows (`order_number`, `email`,
`phone`, `name`, `plan`, `preference`: the customer's own framing, "my order number is 12345",
as `core.answering.memory` finds it); or where the customer names the parameter and gives a
value holding a digit right after it ("order 123", "order number: BD-9" for `order_number`).
A free-text parameter comes only from what was gathered, remembered or so named, never from
the other words of a message that was not an answer to its question. A message holding two
different candidates ("is it 12345 or 67890?") fills nothing: the question is asked rather
than one picked; memory's framing outranks a bare pattern match, so "my order number is 12345,
call me on 0161 496 0000" fills 12345. Every value is kept only if it validates against its
property's schema (with the parameters' `$defs` and `format`).

What the customer says now wins over memory: a value the message gives a parameter that does
not validate ("order 123" where order numbers have five digits) is not replaced by one
remembered from before (12345); the parameter is asked for, saying what was read (`unfit`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.protocols import Validator

from core.action_settings import ActionDeclaration
from core.answering.memory import extract_facts
from core.languages import _
from core.turn_context import Fact, FactKey

_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d+)?|\.\d+)")
_NUMBER_IN_TEXT = re.compile(r"(?<![\w.])[+-]?\d+(?:\.\d+)?(?![\w.]*\w)")
_SEPARATOR = re.compile(r"[\s_-]+")
_MODIFIERS = re.compile("[\ufe0f\U0001f3fb-\U0001f3ff]")
_REPLY_WORDS = re.compile(r"[a-z0-9']+|\U0001f44d|\U0001f44e|\u2705|\u274c")
_YES_WORDS = (
    r"(?:yes|yeah|yep|yup|ya|y|sure|sure thing|ok|okay|k|fine|confirm|confirmed|correct|right|absolutely|"
    r"definitely|of course|go ahead|go for it|do it|please do|that's right|sounds good|\U0001f44d|\u2705)"
)
_NO_WORDS = r"(?:no|nope|nah|n|cancel|don't|do not|dont|stop|not now|never mind|nevermind|no way|\U0001f44e|\u274c)"
_YES = re.compile(rf"{_YES_WORDS}(?: {_YES_WORDS})*")
_NO = re.compile(rf"{_NO_WORDS}(?: {_NO_WORDS})*")
_BEFORE_VALUE = r"(?:\s*(?:no\.?|nr\.?|#|id|is|was|:))*\s*#?\s*"
_VALUE = r"[A-Za-z0-9-]*\d[A-Za-z0-9-]*"
"""What may stand between a parameter's name and its value ("order no. 123", "order number is
123"), and a value: letters, digits and hyphens, one digit at least."""
_POLITENESS = frozenset(["please", "pls", "thanks", "thank", "you", "thx", "cheers", "much", "so", "very"])


def fill(declaration: ActionDeclaration, text: str, facts: Sequence[Fact], known: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters found for `declaration`, by name: each from `known` (gathered earlier in
    this conversation), else from `text`, else from `facts` (memory, oldest first: the newest
    valid one is taken). A parameter found nowhere, or said ambiguously, is left out."""
    stated = extract_facts(text)
    found: dict[str, Any] = {}
    for name, schema in declaration.properties.items():
        validator = _validator(declaration, schema)
        if name in known and validator.is_valid(known[name]):
            found[name] = known[name]
            continue
        said = _said(name, schema, validator, text, stated)
        if len(said) == 1:
            found[name] = said[0]
        elif not said and not _given(name, text, stated):
            remembered = _remembered(name, schema, validator, facts)
            if remembered is not None:
                found[name] = remembered
    return found


def unfit(declaration: ActionDeclaration, text: str, arguments: Mapping[str, Any]) -> dict[str, str]:
    """What `text` gives the parameters missing from `arguments` that their schemas refuse ("123"
    for a five-digit order number), as written, by name: the customer is told what was read when
    the parameter is asked for. A parameter given two fitting values is not here: it is asked for
    plainly."""
    stated = extract_facts(text)
    found: dict[str, str] = {}
    for name, schema in declaration.properties.items():
        if name in arguments or _said(name, schema, _validator(declaration, schema), text, stated):
            continue
        if given := _given(name, text, stated):
            found[name] = given[0]
    return found


def answer_for(declaration: ActionDeclaration, name: str, text: str) -> Any | None:
    """The value the customer's reply `text` gives parameter `name`, just asked for: what its
    pattern, enum or memory's framing finds, else by type the reply's one number, its yes or no,
    or for plain text the whole reply trimmed (of spaces and a closing full stop). None when the
    reply gives no value that validates: the question is asked again, or the reply is a new
    message."""
    schema = declaration.properties.get(name)
    if schema is None:
        return None
    validator = _validator(declaration, schema)
    said = _said(name, schema, validator, text, extract_facts(text))
    if said or "pattern" in schema or "enum" in schema:
        return said[0] if len(said) == 1 else None
    types = _types(schema)
    if "boolean" in types:
        return yes_or_no(text)
    if types & {"integer", "number"} and "string" not in types:
        numbers = {match.group(0) for match in _NUMBER_IN_TEXT.finditer(text)}
        value = _typed(schema, numbers.pop()) if len(numbers) == 1 else None
    else:
        value = text.strip().rstrip(".!").strip() or None
    return value if value is not None and validator.is_valid(value) else None


def missing(declaration: ActionDeclaration, arguments: Mapping[str, Any]) -> str | None:
    """The first required parameter not in `arguments`, in the order the schema lists them."""
    return next((name for name in declaration.required if name not in arguments), None)


def question_for(declaration: ActionDeclaration, name: str) -> str:
    """The operator's `ask` for `name`, else "What is your <title or name>?" with the property's
    description, or its enum's values, as a hint: "What is your delivery speed? (standard,
    express)"."""
    if asked := declaration.ask.get(name):
        return _(asked)
    schema = declaration.properties.get(name, {})
    named = label(declaration, name)
    choices = ", ".join(str(value).replace("_", " ") for value in schema.get("enum", []))
    hint = str(schema.get("description") or choices).rstrip(".")
    question = _("What is your {label}?", label=named)
    return f"{question} ({hint})" if hint and hint.lower() != named.lower() else question


def label(declaration: ActionDeclaration, name: str) -> str:
    """The parameter as a sentence names it: its title, else its name in words ("order number")."""
    schema = declaration.properties.get(name, {})
    said = str(schema.get("title") or name.replace("_", " "))
    if said[1:2].islower():  # "Order number" reads "order number", "IBAN" stays
        said = said[:1].lower() + said[1:]
    return said


def yes_or_no(text: str) -> bool | None:
    """A reply to a yes-or-no question: True for "yes", "sure", "go ahead", "👍"…, False for "no",
    "nope", "cancel", "don't"…, with politeness around them ("yes please", "no thanks"). None for
    anything else, so a reply that says more is not read as consent: "yes but where is my other
    order?" is a new question, answered as one, and the action is not run on a half-yes."""
    words = _REPLY_WORDS.findall(_MODIFIERS.sub("", text.lower().replace("\u2019", "'")))
    said = " ".join(word for word in words if word not in _POLITENESS)
    if not said:
        return None
    if _YES.fullmatch(said):
        return True
    if _NO.fullmatch(said):
        return False
    return None


def _validator(declaration: ActionDeclaration, schema: Mapping[str, Any]) -> Validator:
    """A validator of one property that resolves the parameters' own `$ref`s."""
    root = Draft202012Validator(declaration.parameters, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return root.evolve(schema=schema)


def _said(name: str, schema: Mapping[str, Any], validator: Validator, text: str, stated: Sequence[Fact]) -> list[Any]:
    """The distinct valid values `text` gives the parameter: memory's framed facts first (the most
    specific), else its enum values and pattern matches, else values after its name."""
    key = _fact_key(name)
    framed = [fact.value for fact in stated if fact.key is key]
    for candidates in (framed, [*_enum_said(schema, text), *_pattern_found(schema, text)], _named(name, text)):
        values: list[Any] = []
        for candidate in candidates:
            value = _typed(schema, candidate) if isinstance(candidate, str) else candidate
            if validator.is_valid(value) and value not in values:
                values.append(value)
        if values:
            return values
    return []


def _given(name: str, text: str, stated: Sequence[Fact]) -> list[str]:
    """What `text` gives the parameter as written, whether it validates or not: memory's framing
    for its key, and values after its name."""
    key = _fact_key(name)
    return [fact.value for fact in stated if fact.key is key] + _named(name, text)


def _named(name: str, text: str) -> list[str]:
    """The values that follow the parameter's name in `text`, each holding a digit: "order 123",
    "order no. 123", "order number: BD-9" for `order_number` (its first word, the others optional).
    The digit keeps words out ("order status"); a number that is no identifier ("an order 2 weeks
    ago") is read too, and then asked about rather than taken, as it does not validate."""
    words = [re.escape(word) for word in name.split("_") if word]
    if not words:
        return []
    spoken = words[0] + "".join(rf"(?:[\s_-]+{word})?" for word in words[1:])
    named = re.compile(rf"(?<!\w){spoken}\b{_BEFORE_VALUE}({_VALUE})(?!\w)", re.IGNORECASE)
    return [match.group(1) for match in named.finditer(text)]


def _remembered(name: str, schema: Mapping[str, Any], validator: Validator, facts: Sequence[Fact]) -> Any | None:
    key = _fact_key(name)
    for fact in reversed(facts):
        if fact.key is key and validator.is_valid(value := _typed(schema, fact.value)):
            return value
    return None


def _enum_said(schema: Mapping[str, Any], text: str) -> list[Any]:
    """The enum's values `text` says as words, any case; "next day" says `next_day`."""
    said = []
    for value in schema.get("enum", []):
        spelled = _SEPARATOR.sub(r"[\\s_-]+", re.escape(str(value)).replace("\\ ", " ").replace("\\-", "-"))
        if re.search(rf"(?<!\w){spelled}(?!\w)", text, re.IGNORECASE):
            said.append(value)
    return said


def _pattern_found(schema: Mapping[str, Any], text: str) -> list[str]:
    """Matches of the property's pattern in `text`, its anchors removed: those standing as whole
    words, else those that cut no run of digits or of letters ("ORD1234" gives 1234 to
    `[0-9]{4}`, "123456" gives nothing to `^[0-9]{4}$`)."""
    pattern = schema.get("pattern")
    if not isinstance(pattern, str):
        return []
    inner = _unanchored(pattern)
    try:
        bounded = [m.group(0) for m in re.finditer(rf"(?<!\w)(?:{inner})(?!\w)", text) if m.group(0)]
        inside = [m for m in re.finditer(inner, text) if m.group(0)]
    except re.error:
        return []
    if bounded:
        return bounded
    return [m.group(0) for m in inside if not _cuts(text, m.start()) and not _cuts(text, m.end())]


def _unanchored(pattern: str) -> str:
    pattern = pattern.removeprefix("^").removeprefix("\\A")
    for anchor in ("\\Z", "\\z", "$"):
        head = pattern.removesuffix(anchor)
        escaped = len(head) - len(head.rstrip("\\"))
        if head != pattern and escaped % 2 == 0:
            return head
    return pattern


def _cuts(text: str, position: int) -> bool:
    """Whether `position` falls inside a run of digits or of letters."""
    if position in (0, len(text)):
        return False
    before, after = text[position - 1], text[position]
    return (before.isdigit() and after.isdigit()) or (before.isalpha() and after.isalpha())


def _typed(schema: Mapping[str, Any], raw: str) -> Any:
    """`raw` as the property's type: digits become an integer or a number where the schema wants
    one and no string; anything else stays as written (and fails validation if it must)."""
    types = _types(schema)
    if "string" in types or not types:
        return raw
    if "integer" in types and _INTEGER.fullmatch(raw):
        return int(raw)
    if "number" in types and _NUMBER.fullmatch(raw):
        number = float(raw)
        return int(number) if number.is_integer() and "." not in raw else number
    return raw


def _types(schema: Mapping[str, Any]) -> set[str]:
    declared = schema.get("type", [])
    return {declared} if isinstance(declared, str) else set(declared)


def _fact_key(name: str) -> FactKey | None:
    try:
        return FactKey(name)
    except ValueError:
        return None
