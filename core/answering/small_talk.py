"""Small talk: a message that is only a greeting, thanks, an "ok" or a goodbye. One detector
for the three places that care — the offline responder answers it briefly without a search,
the LLM path does not count an uncited reply to it as a decline, and the mood analysis reads a
greeting's intent.

It knows the words of every shipped language (English, German, Spanish, French, Portuguese)
at once, without being told the message's language: small talk is too short for its language
to be detected ("danke", "hola"), and these words mean nothing else in the other languages."""

from __future__ import annotations

import re
from enum import StrEnum


class SmallTalk(StrEnum):
    GREETING = "greeting"
    THANKS = "thanks"
    GOODBYE = "goodbye"
    ACKNOWLEDGEMENT = "acknowledgement"
    """"ok", "got it", "great"."""


MAX_WORDS = 8
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_WORD = re.compile(r"(?:[^\W\d_]|')+")
_KINDS = (  # a message mixing kinds is what its first listed kind says: "ok, thanks!" is thanks
    (
        SmallTalk.THANKS,
        frozenset(
            [
                "thanks",
                "thank",
                "thx",
                "cheers",
                "danke",
                "dank",
                "dankeschön",
                "gracias",
                "merci",
                "obrigado",
                "obrigada",
                "valeu",
            ]
        ),
    ),
    (
        SmallTalk.GOODBYE,
        frozenset(["bye", "goodbye", "tschüss", "tschüs", "wiedersehen", "adiós", "adios", "revoir", "tchau"]),
    ),
    (
        SmallTalk.GREETING,
        frozenset(
            [
                "hi",
                "hello",
                "hey",
                "hiya",
                "hallo",
                "moin",
                "servus",
                "guten",
                "hola",
                "buenos",
                "buenas",
                "bonjour",
                "bonsoir",
                "salut",
                "coucou",
                "olá",
                "oi",
                "bom",
                "boa",
            ]
        ),
    ),
    (
        SmallTalk.ACKNOWLEDGEMENT,
        frozenset(
            [
                "ok",
                "okay",
                "great",
                "perfect",
                "cool",
                "klar",
                "perfekt",
                "prima",
                "vale",
                "perfecto",
                "genial",
                "entendido",
                "d'accord",
                "parfait",
                "entendu",
                "perfeito",
                "ótimo",
                "beleza",
            ]
        ),
    ),
)
_ANCHORS = frozenset().union(*(words for _, words in _KINDS))
_FILLERS = frozenset(
    [
        "there",
        "good",
        "morning",
        "afternoon",
        "evening",
        "you",
        "so",
        "much",
        "a",
        "lot",
        "again",
        "for",
        "the",
        "your",
        "help",
        "very",
        "nice",
        "awesome",
        "got",
        "it",
        "all",
        "that's",
        "morgen",
        "tag",
        "abend",
        "zusammen",
        "allerseits",
        "vielen",
        "schön",
        "sehr",
        "nochmals",
        "für",
        "die",
        "hilfe",
        "alles",
        "días",
        "dias",
        "tardes",
        "noches",
        "todos",
        "muchas",
        "muchísimas",
        "por",
        "la",
        "ayuda",
        "de",
        "nuevo",
        "equipo",
        "beaucoup",
        "à",
        "tous",
        "pour",
        "votre",
        "aide",
        "l'aide",
        "au",
        "encore",
        "équipe",
        "dia",
        "tarde",
        "noite",
        "muito",
        "pela",
        "ajuda",
        "pessoal",
        "equipe",
    ]
)
_GREETING = re.compile(
    r"^\W*(?:(?:hi|hello|hey|hiya|howdy|greetings|good\s+(?:morning|afternoon|evening|day)|morning|"
    r"hallo|moin|servus|guten\s+(?:tag|morgen|abend)|hola|buen(?:os|as)(?:\s+(?:días|dias|tardes|noches))?|"
    r"bonjour|bonsoir|salut|coucou|olá|ola|oi|bom\s+dia|boa\s+(?:tarde|noite))\b\W*)+"
    r"(?:(?:there|team|all|everyone|folks|guys|again|support(?:\s+team)?|zusammen|allerseits|equipo|"
    r"a\s+todos|à\s+tous|tout\s+le\s+monde|l'équipe|équipe|equipe|pessoal)\b\W*)*",
    re.IGNORECASE,
)
_COURTESY = re.compile(
    r"\bhow\s+are\s+(?:you|things)(?:\s+(?:all|doing|today))*\b|\bhow's\s+it\s+going\b|\bhope\s+you(?:'re|\s+are)\s+well\b"
    r"|\b(?:have\s+a\s+(?:nice|good|great)\s+day)\b"
    r"|\bwie\s+geht(?:'s|\s+es)(?:\s+(?:ihnen|dir|euch))?\b|\bschönen\s+tag\b"
    r"|¿?\s*(?:qué\s+tal|cómo\s+(?:estás|está|están))(?:\s+(?:todos|ustedes))?\b|\bbuen\s+día\b"
    r"|\bcomment\s+(?:allez-vous|vas-tu|ça\s+va)\b|\bça\s+va\b|\bbonne\s+(?:journée|soirée)\b"
    r"|\btudo\s+bem(?:\s+com\s+(?:você|vocês))?\b|\bcomo\s+(?:vai|está|estão)(?:\s+(?:você|vocês))?\b",
    re.IGNORECASE,
)
"""The courtesies a greeting carries ("how are you?", "wie geht es Ihnen?", "bonne journée !",
"tudo bem com vocês?"): with the greeting, they ask nothing of the help centre."""
_NAME = re.compile(r"^\W*[A-Z][\w'-]*\W*$")


def small_talk(text: str) -> SmallTalk | None:
    """What `text` is when it is small talk and nothing else; None when it asks or tells
    anything more ("thanks, but the invoice is wrong", "hi, my order 123 is late")."""
    text = text.translate(_APOSTROPHES)
    if any(char.isdigit() for char in text):
        return None
    words = _WORD.findall(text.lower())
    if 0 < len(words) <= MAX_WORDS and all(w in _ANCHORS or w in _FILLERS for w in words):
        kind = next((kind for kind, anchors in _KINDS if anchors.intersection(words)), None)
        if kind is not None:  # "good morning" holds no anchor: the greeting's pattern knows it
            return kind
    if _GREETING.match(text) is None:
        return None
    rest = after_greeting(text)
    if not _WORD.findall(rest.lower()) or _NAME.match(rest):  # a name may follow: "Hello Anna!"
        return SmallTalk.GREETING
    return None


def after_greeting(text: str) -> str:
    """What a message says after its opening greeting and courtesies ("Hi team, what does
    BD-4012 mean?" → "what does BD-4012 mean?")."""
    greeting = _GREETING.match(text)
    rest = text[greeting.end() :] if greeting else text
    return _COURTESY.sub(" ", rest).strip()
