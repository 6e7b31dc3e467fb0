"""What the mood reading (`core.answering.sentiment`) knows of each shipped language beyond
English: VADER's lexicon is English (and emoji), so a German, Spanish, French or Portuguese
message is read through a short gloss of its mood words ("enttäuscht" is read as
"disappointed", "nicht" as "not", "danke" as "thanks"), and by its own rules for asking for a
person, complaining, asking a question and repeating oneself. Its frustration phrases are
settings (`sentiment.frustration_phrases_by_language`).

Words are matched lowercased, whole, with their accents; a word missing from a gloss says
nothing about the mood (it is left out of what VADER reads), so "Die Rechnung ist falsch" is
no longer negative because English "die" is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LanguageRules:
    """One language's rules; each pattern is searched in the message (IGNORECASE)."""

    glosses: Mapping[str, str]
    """A mood word and the English word VADER reads for it."""
    person: re.Pattern[str]
    """Asks to talk to a person."""
    complaint: re.Pattern[str]
    """Complains in words a gloss cannot carry ("ich will mein Geld zurück")."""
    question: re.Pattern[str]
    """A sentence that starts this way asks (matched at the start of what follows a greeting).
    `core.answering.questions` reads it in messages of any language, so it leaves out openers
    that start English sentences too ("Hat", "Comment:")."""
    request: re.Pattern[str]
    repetition: re.Pattern[str]
    """"again", "still"."""


def _words(*groups: tuple[str, str]) -> dict[str, str]:
    """Glosses from ("word word2 …", "english") pairs."""
    return {word: english for words, english in groups for word in words.split()}


def _person(*, verbs: str, nouns: str, alone: str, real: str) -> re.Pattern[str]:
    """A talking verb and a person in one sentence (either order), a person alone ("Un
    agente, por favor") or a real person named ("echter Mensch")."""
    return re.compile(
        rf"\b(?:{verbs})\b[^.!?]*?\b(?:{nouns})(?!\w)"
        rf"|\b(?:{nouns})\b[^.!?]*?\b(?:{verbs})(?!\w)"
        rf"|^\W*(?:{alone})\W*$"
        rf"|\b(?:{real})(?!\w)",
        re.IGNORECASE,
    )


def _pattern(body: str) -> re.Pattern[str]:
    return re.compile(body, re.IGNORECASE)


GERMAN = LanguageRules(
    glosses=_words(
        ("lächerlich", "ridiculous"),
        ("katastrophe", "disaster"),
        ("katastrophal schrecklich", "terrible"),
        ("furchtbar", "awful"),
        ("schlecht schlechter schlechte schlechten", "bad"),
        ("schlechteste schlechtester schlechtesten", "worst"),
        ("enttäuscht", "disappointed"),
        ("enttäuschend", "disappointing"),
        ("unverschämt unverschämtheit frechheit", "outrageous"),
        ("inakzeptabel unakzeptabel", "unacceptable"),
        ("nutzlos sinnlos unbrauchbar", "useless"),
        ("betrug abzocke", "scam"),
        ("ärgerlich", "annoying"),
        ("verärgert wütend sauer", "angry"),
        ("kaputt defekt", "broken"),
        ("frustriert", "frustrated"),
        ("frustrierend", "frustrating"),
        ("leider", "unfortunately"),
        ("problem probleme", "problem"),
        ("nicht kein keine keinen", "not"),
        ("nie niemals", "never"),
        ("sehr", "very"),
        ("wirklich", "really"),
        ("total völlig", "totally"),
        ("extrem", "extremely"),
        ("aber", "but"),
        ("danke dank", "thanks"),
        ("super toll prima klasse", "great"),
        ("perfekt", "perfect"),
        ("gut", "good"),
        ("hilfreich", "helpful"),
        ("freundlich", "friendly"),
        ("zufrieden", "satisfied"),
        ("froh", "glad"),
    ),
    person=_person(
        verbs="sprechen|reden|telefonieren|chatten|verbinden|weiterleiten|durchstellen",
        nouns=r"menschen?|mitarbeiter(?:in|n)?|person|(?:kunden)?berater(?:in)?|vorgesetzten?|"
        r"sachbearbeiter(?:in)?|jemand(?:em|en)?|manager|chef",
        alone=r"(?:bitte\W*)?(?:ein(?:en?)?\s+)?(?:echten\s+)?(?:menschen?|mitarbeiter(?:in)?|berater(?:in)?)"
        r"(?:\W*bitte)?",
        real=r"(?:echte[nmr]?|richtige[nmr]?)\s+(?:menschen?|person|mitarbeiter(?:in)?)",
    ),
    complaint=_pattern(
        r"\b(?:will|möchte|verlange|fordere)\s+(?:mein\s+geld|eine\s+(?:rück)?erstattung)\b|\bgeld\s+zurück\b"
    ),
    question=_pattern(
        r"^(?:wie|was|wann|wo|wohin|woher|warum|wieso|weshalb|welche[rsmn]?|wer|wen|wem|wieviel|"
        r"kann|kannst|können|könnt|könnte|könnten|gibt|ist|sind|habe|hast|haben|muss|müssen|darf|"
        r"dürfen|soll|sollte|wird|werden|funktioniert|geht|liefert|liefern|bietet|bieten|unterstützt|"
        r"unterstützen)\b"
    ),
    request=_pattern(
        r"\bbitte\b|\bich\s+(?:möchte|will|würde\s+gerne?|hätte\s+gerne?)\b|\b(?:kündigen|ändern)\s+sie\b"
    ),
    repetition=_pattern(r"\b(?:wieder|erneut|nochmal|immer\s+noch|noch\s+immer)\b"),
)

SPANISH = LanguageRules(
    glosses=_words(
        ("ridículo ridícula", "ridiculous"),
        ("pésimo pésima terrible", "terrible"),
        ("horrible", "horrible"),
        ("fatal", "awful"),
        ("malo mala", "bad"),
        ("peor", "worst"),
        ("decepcionado decepcionada", "disappointed"),
        ("decepcionante", "disappointing"),
        ("inaceptable", "unacceptable"),
        ("inútil", "useless"),
        ("estafa timo", "scam"),
        ("vergüenza vergonzoso", "disgraceful"),
        ("indignante", "outrageous"),
        ("enfadado enfadada enojado enojada molesto molesta", "angry"),
        ("roto rota", "broken"),
        ("frustrado frustrada", "frustrated"),
        ("lamentablemente desgraciadamente", "unfortunately"),
        ("problema problemas", "problem"),
        ("no", "not"),
        ("nunca", "never"),
        ("muy", "very"),
        ("realmente", "really"),
        ("totalmente", "totally"),
        ("pero", "but"),
        ("gracias", "thanks"),
        ("genial", "great"),
        ("excelente", "excellent"),
        ("perfecto perfecta", "perfect"),
        ("bueno buena", "good"),
        ("útil", "helpful"),
        ("amable", "kind"),
        ("contento contenta", "happy"),
    ),
    person=_person(
        verbs=r"hablar|comunicarme|contactar|chatear|conversar|pásenme|pásame|pasame|pasarme|comuníqueme|"
        r"transfiéranme|transfiérame|transferirme",
        nouns=r"persona|humano|agente|asesor(?:a)?|operador(?:a)?|supervisor(?:a)?|encargad[oa]|responsable|"
        r"alguien|representante",
        alone=r"(?:una?\s+)?(?:agente|humano|persona|asesor(?:a)?|operador(?:a)?)(?:\W*por\s+favor)?",
        real=r"persona\s+real|(?:agente|humano)\s+(?:real|de\s+verdad)|ser\s+humano",
    ),
    complaint=_pattern(
        r"\b(?:quiero|exijo)\s+(?:un\s+reembolso|(?:que\s+me\s+devuelvan\s+)?mi\s+dinero)\b"
        r"|\bdevuelvan\s+(?:mi|el)\s+dinero\b"
    ),
    question=_pattern(
        r"^(?:¿|qué\b|cómo\b|cuándo\b|dónde\b|donde\b|adónde\b|cuál(?:es)?\b|cual\b|cuánt[oa]s?\b|cuant[oa]s?\b|"
        r"quién(?:es)?\b|por\s+qué\b|puedo\b|puedes\b|puede\b|pueden\b|podría\b|podrían\b|hay\b|tienen\b|"
        r"es\s+posible\b|se\s+puede\b|existe\b)"
    ),
    request=_pattern(r"\bpor\s+favor\b|\b(?:quiero|quisiera|necesito|me\s+gustaría)\b|\b(?:cancelen|cambien|envíen)"),
    repetition=_pattern(r"\b(?:otra\s+vez|de\s+nuevo|todavía|sigue|siguen|nuevamente)\b"),
)

FRENCH = LanguageRules(
    glosses=_words(
        ("ridicule", "ridiculous"),
        ("nul nulle affreux affreuse", "awful"),
        ("horrible", "horrible"),
        ("terrible catastrophique", "terrible"),
        ("catastrophe", "disaster"),
        ("mauvais mauvaise", "bad"),
        ("pire", "worst"),
        ("déçu déçue", "disappointed"),
        ("décevant décevante", "disappointing"),
        ("inadmissible inacceptable", "unacceptable"),
        ("inutile", "useless"),
        ("arnaque escroquerie", "scam"),
        ("scandaleux scandaleuse", "outrageous"),
        ("honteux honteuse honte", "disgraceful"),
        ("énervé énervée furieux furieuse fâché fâchée", "angry"),
        ("agacé agacée", "annoyed"),
        ("cassé cassée", "broken"),
        ("frustré frustrée", "frustrated"),
        ("frustrant", "frustrating"),
        ("malheureusement", "unfortunately"),
        ("problème problèmes", "problem"),
        ("pas", "not"),
        ("jamais", "never"),
        ("très", "very"),
        ("vraiment", "really"),
        ("totalement complètement", "totally"),
        ("mais", "but"),
        ("merci", "thanks"),
        ("génial super", "great"),
        ("parfait", "perfect"),
        ("excellent", "excellent"),
        ("bon bonne", "good"),
        ("utile", "helpful"),
        ("aimable", "kind"),
        ("content contente ravi ravie", "happy"),
    ),
    person=_person(
        verbs=r"parler|discuter|joindre|contacter|passez-moi|passer|transférer|transférez-moi|mettre\s+en\s+relation",
        nouns=r"humain|(?:une?|la|le|vraie?)\s+personne|conseill(?:er|ère)|agent|opérat(?:eur|rice)|responsable|"
        r"superviseur|quelqu'un|interlocut(?:eur|rice)",
        alone=r"(?:une?\s+)?(?:conseill(?:er|ère)|humain|agent|opérat(?:eur|rice))"
        r"(?:\W*(?:s'il\s+vous\s+pla[iî]t|svp|stp))?",
        real=r"(?:vraie?|véritable)\s+(?:personne|humain|conseill(?:er|ère))|être\s+humain",
    ),
    complaint=_pattern(
        r"\b(?:je\s+veux|j'exige|je\s+demande)\s+(?:être\s+remboursée?|un\s+remboursement|mon\s+argent)\b"
        r"|\bremboursez-moi\b"
    ),
    question=_pattern(
        r"^(?:comment(?!\s*:)|pourquoi|quand|où|quel(?:le)?s?|combien|qui|que|qu'est-ce|est-ce|y\s+a-t-il|"
        r"[^\W\d_]+-(?:vous|je|tu|on|il|elle|ils|elles|t-il|t-elle|t-on))(?!\w)"
    ),
    request=_pattern(
        r"\bs'il\s+vous\s+pla[iî]t\b|\bsvp\b|\bmerci\s+de\b|\bveuillez\b|"
        r"\b(?:je\s+voudrais|je\s+veux|j'aimerais)\b|\benvoyez-moi\b"
    ),
    repetition=_pattern(r"\b(?:encore|toujours|de\s+nouveau|à\s+nouveau)\b"),
)

PORTUGUESE = LanguageRules(
    glosses=_words(
        ("ridículo ridícula", "ridiculous"),
        ("péssimo péssima terrível", "terrible"),
        ("horrível", "horrible"),
        ("ruim", "bad"),
        ("pior", "worst"),
        ("decepcionado decepcionada", "disappointed"),
        ("decepcionante", "disappointing"),
        ("inaceitável", "unacceptable"),
        ("inútil", "useless"),
        ("golpe fraude", "scam"),
        ("vergonha vergonhoso", "disgraceful"),
        ("absurdo", "outrageous"),
        ("irritado irritada chateado chateada bravo brava", "angry"),
        ("quebrado quebrada", "broken"),
        ("frustrado frustrada", "frustrated"),
        ("infelizmente", "unfortunately"),
        ("problema problemas", "problem"),
        ("não", "not"),
        ("nunca", "never"),
        ("muito", "very"),
        ("realmente", "really"),
        ("totalmente", "totally"),
        ("mas", "but"),
        ("obrigado obrigada valeu", "thanks"),
        ("ótimo ótima", "great"),
        ("excelente", "excellent"),
        ("perfeito perfeita", "perfect"),
        ("bom boa", "good"),
        ("útil", "helpful"),
        ("gentil", "kind"),
        ("satisfeito satisfeita", "satisfied"),
    ),
    person=_person(
        verbs=r"falar|conversar|passar|passem|transferir|transfiram|transfira|contatar|chamar",
        nouns=r"pessoa|humano|atendente|agente|operador(?:a)?|supervisor(?:a)?|gerente|responsável|alguém|"
        r"representante",
        alone=r"(?:uma?\s+)?(?:atendente|humano|agente|pessoa)(?:\W*por\s+favor)?",
        real=r"pessoa\s+(?:real|de\s+verdade)|(?:atendente|humano)\s+(?:real|de\s+verdade)|ser\s+humano",
    ),
    complaint=_pattern(r"\b(?:quero|exijo)\s+(?:o\s+)?(?:meu\s+dinheiro|reembolso)\b|\bdinheiro\s+de\s+volta\b"),
    question=_pattern(
        r"^(?:como|quando|onde|qual|quais|quant[oa]s?|quem|por\s+que|porque|o\s+que|posso|pode|podem|poderia|"
        r"podemos|há|existe|tem|têm)\b"
    ),
    request=_pattern(r"\bpor\s+favor\b|\b(?:quero|queria|gostaria|preciso)\b|\b(?:cancelem|mudem|enviem)\b"),
    repetition=_pattern(r"\b(?:de\s+novo|novamente|ainda|continua|outra\s+vez)\b"),
)

RULES: Mapping[str, LanguageRules] = {"de": GERMAN, "es": SPANISH, "fr": FRENCH, "pt": PORTUGUESE}
"""The languages read beyond English. English is VADER's own language and the analyzer's
English rules; a language in neither is read only by what needs no words (see
`core.answering.sentiment`)."""
