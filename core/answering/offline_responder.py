"""Answers without a language model: quote the sentences (and table rows) of the best document
that answer each question of a message, cite them, and say plainly what was not found
(offering a person, or where to reach the team when none can come: `TurnContext.reach`).

## Questions

A message is cut into its questions (`core.answering.questions`): facts and pleasantries before a
question are not searched, and each question is answered on its own, with its own sources;
those the help centre does not cover are named, with a person offered for them. When every
question is declined, the reply is the decline (`handoff`).

## Answer or decline

`core.answering.answer_decision` scores the best hit on its cosines, how much of the question it and its
heading hold, BM25's agreement and its lead over the next document; `answer.min_match` is the
cosine at which the rest of the evidence decides (raise it to decline more).

## Which sentences

The quote comes from the best document's hits only (several chunks of one document are often
in the top k). Each sentence or list item is scored by the share of the question's content
words it holds, weighted by rarity within those chunks (a word every sentence of the article
repeats tells nothing; a word only in its section's heading counts half), plus its chunk's
match; a short list (steps, options) is one block scored by the union of its items, so a
procedure is quoted whole rather than cut at step 3. A table is one block too, quoted as a
table: its header and the rows and columns the question names (`core.answering.quoted_tables`).
A block in the form the question asks for scores more (`_Form`): a number for "how many",
"how much", "how long" (the table's number column rather than its notes), the steps for "how do
I", a place in the app ("**Settings > Billing**") or a link for "where", a time of day for "what
time", "when" or "are you open".
A block whose sentence the search found closest to the question in meaning (`Hit.sentences`,
within SENTENCE_MARGIN) is quoted though it shares no word with it ("can I get my money back?"
and "…cancel it for a full refund"); an FAQ's answer under the question heading it, short
enough, is quoted whole. The best sentence brings the rest of its paragraph when that is short
(`_with_its_paragraph`: "A freeze costs £5 per month" after "…can freeze their membership"), or,
in a longer one, the sentence after it when that says whom to call or where to write; any other
sentence quoted brings the ones before it in its short paragraph, as one block. A quote spanning
several sections names each in bold (`_headings`). At most `answer.max_sentences` blocks, another
section's only while fewer sentences than that are quoted, kept in document order; citations are
the quoted chunks,
the best one first. Question words the quote lacks but another document's hit holds are what
the answer does not cover: the reply says so ("it doesn't mention …") and offers a person.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass, field, replace

from core.answering import personal_data, quoted_tables
from core.answering.answer_decision import (
    HAND_OVER_SOURCE,
    TEAM_ANSWERS_PREFIX,
    Bar,
    Decision,
    Learned,
    answer_bar,
    decide,
    match,
)
from core.answering.personal_data import Kind
from core.answering.small_talk import SmallTalk, small_talk
from core.invariants import present
from core.languages import N_, _, default_language, language_name, listing, said_alike, said_in
from core.messages import Citation, Reply
from core.quoting import literal
from core.settings import AnswerSettings
from core.turn_context import person_or_reach
from knowledge.hits import Hit
from knowledge.passages import is_json, paragraphs, pieces, row_text
from knowledge.search.coverage import content_words
from knowledge.search.phrasings import Floor
from knowledge.search.spelling import common_english_words

log = logging.getLogger(__name__)

QUOTED = N_("“{question}”")
"""A customer's question as a reply repeats it, in the quotation marks of the language spoken."""
ANSWER_LEAD = N_("Here's what our help centre says in {title}:")
ANSWER_LEAD_ABOUT = N_("About “{question}”, our help centre says in {title}:")
"""The lead of each question's answer in a message that asks several."""
REFERRED_LEAD = N_("For more, it points to {title}:")
"""The lead of the document an answer's section sends the customer to (`_referred`)."""
OFFER_FOR_THAT = N_("Would you like me to bring in a person from our support team for that?")
OFFER_IF_NEEDED = N_("If you need help with that, I can bring in a person from our support team.")
DECLINE = N_(
    "I couldn't find anything about that in our help centre, and I'd rather not guess. "
    "Would you like me to bring in a person from our support team?"
)
NOT_FOUND = N_("I couldn't find anything about that in our help centre, and I'd rather not guess.")
"""The decline when no person can come: where to reach the team follows it (`answer_all`)."""
NEAREST_SAYS = N_("In case it helps, the nearest article I found, {article}, says:")
"""Said at the end of a decline when an article came close (`OfflineResponder.nearest`), before the
quote the question would have had from it: last, so a channel that shortens a reply (SMS) drops
it before the person offered or where to write."""
NEAREST_SAYS_ABOUT = N_("In case it helps with “{question}”, the nearest article I found, {article}, says:")
"""NEAREST_SAYS in a message of several questions: which one the quote is for."""
NEAREST = N_("The nearest article I found is {article}, in case it helps.")
"""The article named without a quote: where its passage holds no word to quote (a rule line), or
where a catalog says this sentence in the decline's language but not NEAREST_SAYS (written
before it)."""
IN_LANGUAGE = N_("The passage quoted below is in {language}.")
NEAREST_SCORE = -2.0
"""The lowest decision score (the logistic score of `answer_decision`, which answers from 0, not
the match's bar) at which a declined question's best article is still named in the decline as
the nearest (`nearest`). Weighed on the help
centres of our own that had been looked at (second to twelfth, broadband, leisure centre): of
their 110 declined covered questions the best article is the right one for 76; at -2 it is named
for 89, 61 of them right, and for 40 of the 69 declined questions they do not cover (at -2.5: 98,
70 right, and 49). The share named right hardly moves with it; -2 leaves out what is nowhere near
("whats the weather like in berlin tomorrow", -2.19 on the sample help centre)."""
GREETING_REPLY = N_(
    "Hi! Ask me anything about our product — I'll answer from our help centre and show you where it says so."
)
THANKS_REPLY = N_("You're welcome! Anything else I can help with?")

_WORD = re.compile(r"\w")
"""What makes a passage quotable: a letter or a digit (not only a rule line, "---")."""

MAX_LIST_ITEMS = 8
"""A list up to this long is quoted as one block; a longer one item by item."""
MAX_QUOTE_CHARS = 1200
MAX_ECHO_CHARS = 100
"""How much of a customer's question a reply repeats ("About “…”")."""

_ASKS_NUMBER = re.compile(
    r"\bhow\s+(?:many|much|long|far|often|quickly|soon|fast|big|large)\b|"
    r"\b(?:price|cost|costs|fee|limit|maximum|minimum|max|min|number|size|version|percent|percentage|cheap(?:er|est)?)\b",
    re.IGNORECASE,
)
_ASKS_PHONE = re.compile(r"\bwho\s+(?:do|should|can|could)\s+(?:i|we)\s+(?:call|ring|phone|contact)\b", re.IGNORECASE)
_PHONE = re.compile(r"\(\d{2,5}\)\s?\d(?:[ -]?\d){4,}|\d(?:[ -]?\d){6,}|\b(?:999|911|112)\b")
"""A telephone number: seven digits or more, a space or a hyphen between them ("0808 157 0555"),
an area code in brackets ("(01632) 960418"), or an emergency line (999, 911, 112)."""
_ASKS_STEPS = re.compile(
    r"\bhow\s+(?:do|can|could|should|would)\s+(?:i|we|you|they|he|she|people)\b|\bhow\s+to\b|"
    r"\bwhat\s+(?:should|do|can)\s+(?:i|we)\s+do\b|\bsteps?\b",
    re.IGNORECASE,
)
_ASKS_PLACE = re.compile(r"\bwhere\b", re.IGNORECASE)
_NUMBER = re.compile(r"\d")
_REACH = re.compile(r"\b(?:call\w*|ring|phone|tel(?:ephone)?|text|e-?mail\w*|contact|write|send)\b", re.IGNORECASE)
"""A sentence that tells the customer to call or write: with a phone number or an email address
in it (`_reach`), how to act on the sentence before it ("Call 01632 960 455 to book.")."""
_PLACE = re.compile(r"\*\*[^*]+>[^*]+\*\*|\bhttps?://|\b[\w.-]+\.[a-z]{2,}/\w", re.IGNORECASE)
CAVEAT_MARGIN = 0.35
"""How much further from the question (passage cosine) than the answering passage a document may
be for a word only it holds to be named as not covered ("It doesn't mention *mobile*")."""
SENTENCE_MARGIN = 0.05
"""A block whose sentence is within this cosine of the question's closest sentence is quoted
though it shares no word with the question ("can I get my money back?" and "…you can cancel it
for a full refund"), as one that shares enough words is."""
PARAGRAPH_SENTENCES = 3
"""A paragraph up to this many sentences is quoted whole around its best sentence."""
FORM_BONUS = 0.25
"""What a block in the asked-for form adds to its share of the question's words."""


@dataclass(frozen=True, slots=True)
class _Form:
    """The form of answer a question asks for."""

    number: bool
    steps: bool
    place: bool
    time: bool
    phone: bool
    """Asks whom to call: a telephone number, not any number ("my mum is 82 … who do I call?" is
    not answered by "You can register if you are 75 or over")."""

    @classmethod
    def of(cls, question: str) -> _Form:
        return cls(
            bool(_ASKS_NUMBER.search(question)),
            bool(_ASKS_STEPS.search(question)),
            bool(_ASKS_PLACE.search(question)),
            bool(quoted_tables.ASKS_TIME.search(question)),
            bool(_ASKS_PHONE.search(question)),
        )

    def fits(self, block: _Block) -> bool:
        return (
            (self.number and _NUMBER.search(block.text) is not None)
            or (self.phone and _PHONE.search(block.text) is not None)
            or (self.time and quoted_tables.TIME.search(block.text) is not None)
            or (self.steps and block.is_list and _ordered(block.units[0].marker))
            or (self.place and _PLACE.search(block.text) is not None)
        )


@dataclass(frozen=True, slots=True)
class _Unit:
    text: str
    marker: str | None
    """The list marker (`-`, `1.`) of a list item; None for a sentence."""


@dataclass(frozen=True, slots=True)
class _Block:
    """A sentence, a whole short list or a table: what the quote picks whole."""

    units: tuple[_Unit, ...]
    chunk: int
    """Index of the hit in the pooled hits (already in document order)."""
    position: int
    table: quoted_tables.Table | None = None
    """A table, with the sentence introducing it (if any) as its units."""
    paragraph: int | None = None
    """A sentence's paragraph, counted within the chunk; None when its units do not form a
    paragraph (a list, a table, a converted JSON file's objects)."""
    labelled: bool = False
    """A record's labelled lines, one a line ("Colour A4: 25p a page"): quoted as a short list is."""

    @property
    def is_list(self) -> bool:
        return self.table is None and self.units[0].marker is not None

    @property
    def text(self) -> str:
        lead = " ".join(unit.text for unit in self.units)
        return f"{lead} {self.table.text}" if self.table is not None else lead

    @property
    def chars(self) -> int:
        table = len(self.table.markdown()) if self.table is not None else 0
        return table + sum(len(unit.text) for unit in self.units)

    def narrowed(
        self,
        wanted: Set[str],
        *,
        amounts: Sequence[quoted_tables.Amount] = (),
        kinds: Set[str] = frozenset(),
        extreme: quoted_tables.Extreme | None = None,
        holidays: Set[str] = frozenset(),
    ) -> _Block:
        """A table block cut to the rows and columns the question names; others as they are."""
        if self.table is None:
            return self
        return replace(self, table=self.table.narrowed(wanted, amounts, kinds, extreme=extreme, holidays=holidays))


def _blocks(text: str, *, chunk: int, list_limit: int) -> list[_Block]:
    """Sentences and lists of a markdown chunk, in order; a list of at most `list_limit` items
    is one block, a longer one is one block per item."""
    blocks: list[_Block] = []
    items: list[_Unit] = []

    def add(units: list[_Unit], paragraph: int | None = None) -> None:
        base = len(blocks)
        blocks.extend(_Block((unit,), chunk, base + i, paragraph=paragraph) for i, unit in enumerate(units))

    def flush() -> None:
        if len(items) == 1 and not items[0].text.endswith((".", "!", "?", ":", ")")):
            pass  # "2. Annual plans" in a converted PDF: a numbered heading, not a list
        elif 0 < len(items) <= list_limit:
            blocks.append(_Block(tuple(items), chunk, len(blocks)))
        else:
            add(items)
        items.clear()

    for number, (kind, marker, paragraph) in enumerate(paragraphs(text)):
        if kind == "table":
            flush()
            table = quoted_tables.parse(paragraph.split("\n"))
            if table is not None:
                # "We support the latest two versions of:" belongs to the table it introduces
                lead = blocks.pop().units if blocks and _introduces(blocks[-1]) else ()
                blocks.append(_Block(lead, chunk, len(blocks), table))
            continue
        if kind == "item":
            if items and _ordered(items[-1].marker) != _ordered(marker):
                flush()  # "- a", "- b", "8. Chargebacks": a new numbered section, not item c
            items.append(_Unit(paragraph, marker))
            continue
        flush()
        fields = paragraph.split("\n") if kind == "fields" else []
        if 0 < len(fields) <= list_limit:
            # a record's labelled lines, one a line: "code: BD-4012", "meaning: …", "what_to_do: …"
            # quoted together as a short list is, not run into one sentence; a longer run (a
            # flattened list of records) is quoted by its sentences, as prose is
            blocks.append(_Block(tuple(_Unit(line, None) for line in fields), chunk, len(blocks), labelled=True))
            continue
        if kind in ("prose", "fields"):
            paragraph = paragraph.replace("\n", " ")
            # a converted .json file's objects are no sentences of one paragraph: each stands alone
            add([_Unit(piece, None) for piece in pieces(paragraph)], None if is_json(paragraph) else number)
    flush()
    return blocks


def _introduces(block: _Block) -> bool:
    return block.table is None and not block.is_list and block.units[-1].text.endswith(":")


def _introduced(block: _Block, blocks: Sequence[_Block]) -> _Block | None:
    """The list a sentence introduces ("…we can cut the lock off for you:" and the fee and what
    to bring after it), or the labelled lines ("Over your allowance, we charge:" and "Colour A4:
    25p a page"): quoted with it, since the sentence alone promises what it does not say.
    None when the block introduces nothing or no whole list follows it."""
    if not _introduces(block):
        return None
    after = [b for b in blocks if b.chunk == block.chunk and b.position in (block.position + 1, block.position + 2)]
    following = after[0] if after and after[0].position == block.position + 1 else None
    if following is not None and following.labelled:
        return following
    if following is None or not following.is_list:
        return None
    # a list longer than MAX_LIST_ITEMS is a block per item: not a whole list, so not pulled in
    split = len(following.units) == 1 and len(after) == 2 and after[1].is_list and len(after[1].units) == 1
    return None if split else following


def _ordered(marker: str | None) -> bool:
    return marker is not None and marker[:1].isdigit()


def _chunk_order(hit: Hit) -> int:
    """Chunk ids end in `-<index within the document>`; hand-built hits may not."""
    tail = hit.chunk_id.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


@dataclass(frozen=True, slots=True)
class Asked:
    """One question of a message and what the search found for it."""

    question: str
    hits: list[Hit]
    alone: str = ""
    """The question without the sentence (or story) before it, when it was searched with it ("What does he
    type in Slack to stop it?" searched with "One of our developers keeps leaving his timer
    running."): what the reply may say it does not cover is read from this."""
    told: str = ""
    """What the message says besides its questions (`core.answering.questions.statements`): a
    number there picks a table's row as one in the question does ("…do i get my money back? its
    about 20 hours till we sail")."""


@dataclass(frozen=True, slots=True)
class _Part:
    """One question answered: its quote, the hits cited for it and the words it does not cover."""

    question: str
    quoted: list[_Block]
    cited: list[Hit]
    missing: list[str]
    referred: bool = False
    """The document the part before it names as where the answer is ("described in our refund
    policy (refund-policy.pdf)"): quoted after it (`_referred`)."""
    headings: Mapping[int, str] = field(default_factory=dict)
    """The section heading each quoted chunk is shown under (`_headings`)."""


class OfflineResponder:
    def __init__(
        self,
        settings: AnswerSettings,
        floor: Callable[[], Floor | None] | None = None,
        learned: Callable[[], Learned | None] | None = None,
    ) -> None:
        """`floor`: the help centre's own floor as of now (`KnowledgeBase.paraphrase_floor`);
        `learned`: the operator's calibration as of now (`core.answering.calibration`). The
        decision's bar follows them (`answer_decision.answer_bar`); None: there is none."""
        self._settings = settings
        self._floor = floor or (lambda: None)
        self._learned = learned or (lambda: None)

    def bar(self) -> Bar:
        return answer_bar(self._settings, self._floor(), self._learned())

    def answer(self, question: str, hits: list[Hit]) -> Reply:
        """The reply to a message holding one question."""
        return self.answer_all([Asked(question, hits)])

    def answer_all(self, asked: Sequence[Asked], *, reach: str | None = None) -> Reply:
        """The reply to a message's questions: each covered one quoted with its sources, the
        others named with a person offered; the decline when none is covered. `reach`: no person
        can come (`TurnContext.reach`), so nobody is offered: where to reach the team is said
        once instead, after what was not found (None: staffed, a person is offered)."""
        if len(asked) == 1:
            kind = small_talk(asked[0].question)
            if kind is SmallTalk.GREETING:
                return Reply(_(GREETING_REPLY))
            if kind is SmallTalk.THANKS:
                return Reply(_(THANKS_REPLY))
        parts: list[_Part] = []
        unanswered: list[str] = []
        for one in asked:
            part = self._part(one)
            if part is None:
                unanswered.append(one.question)
                continue
            for answer in (part, self._referred(one, part)):
                if answer is not None and not any(_said(answer) <= _said(p) for p in parts):  # the same quote again
                    parts.append(answer)
        if not parts:
            return Reply(self._decline(asked, reach), handoff=True)
        offer = reach is None
        sections = [_in_language(part) + _section(part, several=len(asked) > 1, offer=offer) for part in parts]
        if unanswered:
            named = listing([_(QUOTED, question=_echo(q)) for q in unanswered])
            not_found = _("I couldn't find anything in our help centre about {named}.", named=named)
            sections.append(f"{not_found} {_(OFFER_FOR_THAT)}" if offer else not_found)
        if reach and (unanswered or any(part.missing for part in parts)):
            sections.append(reach)
        cited: dict[tuple[str, str], Hit] = {}  # each section once, where it is first cited
        for part in parts:
            for hit in part.cited:
                cited.setdefault((hit.source, hit.section), hit)
        return Reply("\n\n".join(sections), citations=tuple(self._cite(hit) for hit in cited.values()))

    def decide(self, hits: list[Hit]) -> Decision:
        """Whether to answer from these hits, and why (`core.answering.answer_decision`)."""
        return decide(hits, min_match=self.bar().value)

    def _decline(self, asked: Sequence[Asked], reach: str | None) -> str:
        """The reply when no question is answered: the decline, with a person offered or where
        to reach the team, then the nearest article when one came close (`nearest`) and what it
        says for the question, so the customer has something to read while the reply stays a
        decline: nothing is cited, and a person is still offered, or where to write. Each
        sentence only where it is said in the decline's language (an operator's catalog written
        before it, a translation refused): the article named without its quote, or not at all,
        rather than a reply in two languages (`said_alike`)."""
        decline = person_or_reach(reach, person=DECLINE, instead=NOT_FOUND)
        near = self._nearest(asked)
        if near is None:
            return decline
        one, best = near
        link = self._cite(best).link
        article = f"**{best.title.strip()}**" + (f" ({link})" if link else "")
        beside = DECLINE if reach is None else NOT_FOUND
        part = self._tentative(one, best)
        note = "" if part is None else _in_language(part)
        says = NEAREST_SAYS_ABOUT if len(asked) > 1 and said_alike(NEAREST_SAYS_ABOUT, beside) else NEAREST_SAYS
        if part is not None and said_alike(says, beside) and (not note or said_alike(IN_LANGUAGE, beside)):
            intro = _(says, question=_echo(one.question), article=article)
            return f"{decline}\n\n{note}{intro}\n\n{_render(part.quoted, part.headings)}"
        if said_alike(NEAREST, beside):
            return f"{decline} {_(NEAREST, article=article)}"
        return decline

    def nearest(self, asked: Sequence[Asked]) -> Hit | None:
        """The article to name in a decline: the best passage's, of the question that came
        closest to being answered, when its score is at least NEAREST_SCORE (an exact match that
        found nothing to quote counts as closest). None when nothing came near, when any of the
        questions is one the team keeps for a person (naming an article would answer around
        them), and for the team's own answers (`TEAM_ANSWERS_PREFIX`: no article a customer can
        open) or a document without a title."""
        near = self._nearest(asked)
        return None if near is None else near[1]

    def _nearest(self, asked: Sequence[Asked]) -> tuple[Asked, Hit] | None:
        """`nearest`'s article with the question it came nearest for."""
        decisions = [(one, self.decide(one.hits)) for one in asked if one.hits]
        if any(d.best is not None and d.best.source == HAND_OVER_SOURCE for _one, d in decisions):
            return None
        near = [
            (d.score, one, d.best)
            for one, d in decisions
            if d.best is not None
            and d.score >= NEAREST_SCORE
            and d.best.title.strip()
            and not d.best.source.startswith(TEAM_ANSWERS_PREFIX)
        ]
        closest = max(near, key=lambda n: n[0], default=None)
        return None if closest is None else (closest[1], closest[2])

    def _tentative(self, asked: Asked, best: Hit) -> _Part | None:
        """What the nearest article says for a declined question: the quote `_part` would give
        from it had the question been answered; None when it holds no word (a rule line)."""
        pool, quoted = self._quoted(asked, best)
        if not any(_WORD.search(block.text) for block in quoted):
            return None
        return _Part(asked.question, quoted, [best], [], headings=_headings(quoted, pool))

    def _part(self, asked: Asked) -> _Part | None:
        decision = self.decide(asked.hits)
        log.debug("offline decision on %r: %s", asked.question, decision.explain())
        best = decision.best
        if best is None or not decision.answer:
            return None
        pool, quoted = self._quoted(asked, best)
        quoted_hits = {id(pool[block.chunk]) for block in quoted}
        cited = [best] if id(best) in quoted_hits else []
        cited += [hit for hit in pool if id(hit) in quoted_hits and hit is not best]
        cited = list({(hit.source, hit.section): hit for hit in reversed(cited)}.values())[::-1]
        if not cited:  # nothing quotable in the passage (e.g. only a rule line): don't quote it
            return None
        missing = _not_covered(asked.alone or asked.question, pool, asked.hits)
        return _Part(asked.question, quoted, cited, missing, headings=_headings(quoted, pool))

    def _referred(self, asked: Asked, part: _Part) -> _Part | None:
        """The document the answering section sends the customer to, quoted too when the search
        found it for the same question: a cancellation article's "Refunds" section saying "whether
        you are eligible for a refund is described in our refund policy (refund-policy.pdf)"
        answers nothing by itself. A document is named by its file name, or by its title when the
        title has two words or more (a one-word title, "Reports", is named by many a sentence that
        does not mean it)."""
        said = " ".join(hit.text for hit in part.cited).lower()
        cited = {hit.source for hit in part.cited}
        named = [hit for hit in asked.hits if hit.source not in cited and any(n in said for n in _names(hit))]
        if not named:
            return None
        best = max(named, key=match)
        pool, quoted = self._quoted(asked, best)
        quoted_hits = {id(pool[block.chunk]) for block in quoted}
        cited_there = [hit for hit in pool if id(hit) in quoted_hits]
        if not cited_there:
            return None
        cited_there = list({(hit.source, hit.section): hit for hit in reversed(cited_there)}.values())[::-1]
        return _Part(asked.question, quoted, cited_there, [], referred=True, headings=_headings(quoted, pool))

    def _quoted(self, asked: Asked, best: Hit) -> tuple[list[Hit], list[_Block]]:
        """The hits of `best`'s document in document order, and the quote from them for the
        question (`_quote`)."""
        pool = sorted((h for h in asked.hits if h.source == best.source), key=_chunk_order)
        return pool, self._quote(asked.question, best, pool, told=asked.told)

    def _quote(self, question: str, best: Hit, pool: list[Hit], *, told: str = "") -> list[_Block]:
        """The blocks that best answer the question, in document order, within the budget;
        `told`'s numbers pick table rows too."""
        asked = content_words(question)
        # a number told beside the question only with its unit ("20 hours"): "I've been a member
        # for 5 years" or an order number is no age or size the question asks about
        given = [
            *quoted_tables.amounts(question),
            *quoted_tables.holiday_amounts(question),
            *(a for a in quoted_tables.amounts(told) if a.measured),
        ]
        whole = _joined_tables(
            [b for i, hit in enumerate(pool) for b in _blocks(hit.text, chunk=i, list_limit=MAX_LIST_ITEMS)],
            sections=[hit.section for hit in pool],
        )
        said = {sentence.text: sentence.relevance for hit in pool for sentence in hit.sentences}
        closeness = [_closeness(block, said) for block in whole]
        kinds = quoted_tables.asked_kinds(question)
        extreme = quoted_tables.extreme(question)
        holidays = quoted_tables.holiday_names(question)
        blocks = [b.narrowed(asked, amounts=given, kinds=kinds, extreme=extreme, holidays=holidays) for b in whole]
        main = pool.index(best)
        if not blocks:
            return [_Block((_Unit(best.text.strip(), None),), main, 0)]
        answer = [b for b in blocks if b.chunk == main]
        faq = best.section.rstrip().endswith("?")
        if faq and len(answer) <= self._settings.max_sentences:
            # an FAQ's answer to the question it is headed by, written as one: quoted whole
            # ("We do not hand out helmets." and, after it, where helmets are sold and for how much)
            return answer
        # a longer one opens with the answer itself, whatever words the rest shares with the
        # question, where the quote has room for it: "Can I have a bigger black bin?" is "Yes, if
        # 5 or more people live in your home…", not only "We will take your old bin away…"
        opening = _opening(answer, blocks) if faq else []
        words = [content_words(b.text) for b in blocks]
        frequency = Counter(w for ws in words for w in ws)
        weight = {w: math.log(1 + len(blocks) / n) for w, n in frequency.items()}
        wanted = [w for w in asked if w in weight]
        total = sum(weight[w] for w in wanted)
        # a sentence stating a range that holds the question's number counts it as a word of its
        # own, weighed as rarely as it holds ("my boiler is 12 yrs old": "Boilers between 10 and
        # 15 years old can join after a qualifying inspection"), and so does a table cut to a row
        # whose range holds it ("are you open on the 26th?": "Boxing Day (26 December) | Closed")
        ranged = [quoted_tables.holds(b.text, given) if b.table is None else b.table.holds(given) for b in blocks]
        number = math.log(1 + len(blocks) / sum(ranged)) if any(ranged) else 0.0
        total += number
        form = _Form.of(question)
        # the section's own heading: the title is shared by every chunk and tells them not apart
        headings = [content_words(hit.section or hit.title) for hit in pool]
        closest = max((c for c in closeness if c is not None), default=None)
        scored = []
        for block, ws, close, in_range in zip(blocks, words, closeness, ranged, strict=True):
            # a word in the section's heading half counts: under "How to reset your password"
            # the steps answer "how do I reset my password?" though they never say "reset"
            heading = headings[block.chunk]
            held = sum(weight[w] * (1.0 if w in ws else 0.5 if w in heading else 0.0) for w in wanted)
            held += number if in_range else 0.0
            overlap = held / total if total else 0.0
            if overlap > 0 and form.fits(block):
                overlap += FORM_BONUS
            near = (
                block.chunk == main and close is not None and closest is not None and close >= closest - SENTENCE_MARGIN
            )
            # the chunk answered from (`answer_key`'s pick) leads; position breaks ties toward the opening
            score = overlap + (close or 0.0) + match(pool[block.chunk]) + (0.1 if block.chunk == main else 0.0)
            scored.append((overlap, near, score - 0.001 * block.position, block))
        if not any(overlap > 0 or near for overlap, near, _, _ in scored):
            # nothing shares a word: the opening of the best passage is its best summary
            keep = [b for b in blocks if b.chunk == main][: self._settings.max_sentences]
        else:
            top = max(overlap for overlap, _, _, _ in scored)
            # BD-4031 is no answer to BD-4012; another section must be about as close
            eligible = [
                block
                for overlap, near, _, block in sorted(scored, key=lambda row: row[2], reverse=True)
                if near or (overlap > 0 and overlap >= (0.5 if block.chunk == main else 0.9) * top)
            ]
            keep = []
            limit = self._settings.max_sentences
            # the best sentence's short paragraph is one slot, so the section's next-best sentence
            # still finds room ("…because of the weather, we do not pay for accommodation" beside
            # the exception's paragraph); another section needs room by sentences, as before, and
            # the whole quote holds at most the paragraph's sentences beyond `limit`
            chars = slots = sentences = 0
            for group in _with_its_paragraph(eligible, blocks, limit):
                if slots >= limit or (slots and sentences + len(group) > limit + PARAGRAPH_SENTENCES - 1):
                    break
                if sentences >= limit and group[0].chunk != main:
                    continue
                group = [b for b in group if b not in keep]  # a list a sentence kept before it introduces
                if not group:
                    continue
                listed = _introduced(group[-1], blocks)
                # a sentence and the list it introduces are one block, as a table and its lead are
                unit = group if listed is None or listed in keep else [*group, listed]
                size = sum(b.chars for b in unit)
                if keep and chars + size > MAX_QUOTE_CHARS:
                    continue
                keep += unit
                chars += size
                slots += 1
                sentences += len(group)
            if opening and opening[0] not in keep and slots < limit:
                size = sum(b.chars for b in opening if b not in keep)
                keep += [b for b in opening if b not in keep] if chars + size <= MAX_QUOTE_CHARS else []
        return sorted(keep, key=lambda b: (b.chunk, b.position))

    @staticmethod
    def _cite(hit: Hit) -> Citation:
        return Citation(source=hit.source, title=hit.title, section=hit.section, score=round(hit.score, 4), url=hit.url)


def _opening(answer: Sequence[_Block], blocks: Sequence[_Block]) -> list[_Block]:
    """The first block of an FAQ's answer, with the list it introduces; none when it is a table."""
    if not answer or answer[0].table is not None:
        return []
    listed = _introduced(answer[0], blocks)
    return [answer[0]] if listed is None else [answer[0], listed]


def _with_its_paragraph(ranked: Sequence[_Block], blocks: Sequence[_Block], limit: int) -> list[list[_Block]]:
    """`ranked`, best first, in groups that each count as one block of the quote (the caller
    leaves out what it has kept), with the sentences of a short paragraph (at most
    PARAGRAPH_SENTENCES, and `limit`) they need: the best sentence brings the other sentences of
    its paragraph, in one block with it ("If you cancel later…" on "Cancel a class up to two
    hours before it starts"; "A freeze costs £5 per month" after "…can freeze their
    membership"); in a longer paragraph, the sentence right after it when that tells the customer
    to call a number or email an address (`_reach`), how to act on it ("Call 01632 960 455 to
    book." after "…are accepted by appointment only"); any other sentence the ones before it,
    which it leans on, in its own block ("Do not wait and do not go looking on your own first." after "If you cannot
    find your child anywhere in the centre, tell any member of staff immediately.")."""
    out: list[list[_Block]] = []
    for rank, block in enumerate(ranked):
        # a sentence introducing a list ("Registered customers get:") goes with the list, not here
        siblings = [
            b
            for b in blocks
            if block.paragraph is not None
            and b.chunk == block.chunk
            and b.paragraph == block.paragraph
            and (b is block or not _introduces(b))
        ]
        if len(siblings) > min(PARAGRAPH_SENTENCES, limit):
            after = siblings[siblings.index(block) + 1 :][:1] if rank == 0 and limit > 1 else []
            siblings = [block, *(b for b in after if _reach(b))]
        if rank == 0:
            out.append(siblings or [block])  # in the paragraph's order: its last sentence may introduce a list
        else:
            out.append(siblings[: siblings.index(block) + 1] if siblings else [block])
    return out


def _reach(block: _Block) -> bool:
    """Whether the block tells the customer whom to call or where to write (`_REACH`), with a
    number or an address as `personal_data.find` tells them from prices, dates and order numbers
    ("a fine of up to £999", "between 2026-01-01 and 2026-02-01", "the form 1234567")."""
    return _REACH.search(block.text) is not None and any(
        found.kind in (Kind.PHONE, Kind.EMAIL) for found in personal_data.find(block.text)
    )


def _joined_tables(blocks: list[_Block], *, sections: Sequence[str]) -> list[_Block]:
    """A table split across chunks (each piece headed by the header, under the same section) as
    one table again, where its first piece stands, so its rows are picked together. Tables of
    different sections stay apart though their headers match (keyboard-shortcuts.md has four
    "| Shortcut | Action |" tables): joined, a row would be cited under another section."""
    out: list[_Block] = []
    first: dict[tuple[str, tuple[str, ...]], int] = {}
    for block in blocks:
        if block.table is None:
            out.append(block)
            continue
        at = first.setdefault((sections[block.chunk], block.table.header), len(out))
        if at == len(out):
            out.append(block)
        else:
            joined = present(out[at].table, "the table of the earlier block with this header, a table block too,")
            out[at] = replace(out[at], table=quoted_tables.Table(joined.header, joined.rows + block.table.rows))
    return out


def _closeness(block: _Block, said: Mapping[str, float]) -> float | None:
    """The block's best sentence cosine with the question (`Hit.sentences`): its sentences, list
    items and table rows as the search scored them; None when the search scored none of them."""
    texts = [unit.text for unit in block.units]
    if block.table is not None:
        texts += [row_text(block.table.header, row) for row in block.table.rows]
    return max((said[text] for text in texts if text in said), default=None)


def _said(part: _Part) -> set[tuple[str, str]]:
    """What a part quotes, by source and text (two questions' searches return different `Hit`
    objects for one chunk, so identity would not tell a repeated quote)."""
    return {(part.cited[0].source, block.text) for block in part.quoted}


def _not_covered(question: str, pool: list[Hit], hits: list[Hit]) -> list[str]:
    """The question's words that the answering document never mentions but another document
    found for the same question does, when that document is nearly as close to the question
    (within CAVEAT_MARGIN: the opening hours, which name Monday, are far from "my cat had surgery
    on Monday, when do the stitches come out?"): what the help centre covers elsewhere, not
    here. Only words that carry the question: "how long does it take" asks nothing of *take* or *time*
    (English's most common words, `knowledge.search.spelling.common_english_words`)."""
    document = _words_of(pool)
    near = max((h.relevance for h in pool), default=0.0) - CAVEAT_MARGIN  # passages, not headings
    elsewhere = _words_of([h for h in hits if h not in pool and h.relevance >= near])
    common = common_english_words()
    words: dict[frozenset[str], str] = {}
    for word in re.findall(r"[A-Za-z][A-Za-z0-9-]{3,}", question):
        if word.lower() in common:
            continue
        stems = content_words(word)  # all of "two-factor"'s, not whichever the set yields first
        if (stems - document) & elsewhere:
            words.setdefault(stems, word)
    return list(words.values())


def _names(hit: Hit) -> list[str]:
    """How a sentence may name the hit's document: its file name, and its title when that has two
    words or more (lower-cased)."""
    file_name = hit.source.replace("\\", "/").rsplit("/", 1)[-1].lower()
    title = " ".join(hit.title.lower().split())
    return [file_name, title] if len(title.split()) >= 2 else [file_name]


def _echo(question: str) -> str:
    """A customer's question as the reply repeats it: literal, and cut when long."""
    return literal(question if len(question) <= MAX_ECHO_CHARS else question[: MAX_ECHO_CHARS - 1].rstrip() + "…")


def _words_of(hits: list[Hit]) -> frozenset[str]:
    return frozenset().union(*(content_words(part) for h in hits for part in (h.title, h.section, h.text)))


def _section(part: _Part, *, several: bool, offer: bool) -> str:
    one = part.cited[0]
    title = (
        one.title
        if len(part.cited) > 1 or not one.section or one.section == one.title
        else f"{one.title} › {one.section}"
    )
    named_title = f"**{title}**"
    if part.referred:
        return f"{_(REFERRED_LEAD, title=named_title)}\n\n{_render(part.quoted, part.headings)}"
    lead = (
        _(ANSWER_LEAD_ABOUT, question=_echo(part.question), title=named_title)
        if several
        else _(ANSWER_LEAD, title=named_title)
    )
    text = f"{lead}\n\n{_render(part.quoted, part.headings)}"
    if part.missing:
        named = listing([f"*{literal(word)}*" for word in part.missing])
        text += "\n\n" + _("It doesn't mention {named}.", named=named) + (" " + _(OFFER_IF_NEEDED) if offer else "")
    return text


def _headings(quoted: Sequence[_Block], pool: Sequence[Hit]) -> dict[int, str]:
    """The section of each chunk a quote spans, when it spans several sections: a quote of two
    entries of a class list says which class each is ("**Aqua Fit**", then its lines), since
    the entries rarely name themselves. Empty for a quote from one section, which the reply's
    lead names; a chunk that has no section of its own (the title) gets no heading line."""
    sections = {block.chunk: pool[block.chunk].section for block in quoted}
    named = {chunk: section for chunk, section in sections.items() if section and section != pool[chunk].title}
    return named if len(set(named.values())) > 1 else {}


def _render(blocks: list[_Block], headings: Mapping[int, str] | None = None) -> str:
    """Blockquote lines, and tables as tables between them; a list keeps its markers, and a
    blank quote line separates a list from what surrounds it so markdown renders it as a list.
    `headings`: a bold line with the chunk's section before each chunk's first block."""
    parts: list[str] = []
    lines: list[str] = []
    previous: _Block | None = None
    shown: str | None = None
    for block in blocks:
        heading = (headings or {}).get(block.chunk)
        if heading is not None and heading != shown:  # a section split over two chunks: named once
            if lines:
                lines.append(">")
            lines.append(f"> **{heading}**")
            shown, previous = heading, None
            lines.append(">")
        if block.table is not None:
            if previous is not None and block.units:
                lines.append(">")
            lines.extend(f"> {unit.text}" for unit in block.units)
            while lines and lines[-1] == ">":  # a heading right before the table: no empty line
                lines.pop()
            if lines:
                parts.append("\n".join(lines))
                lines = []
            parts.append(block.table.markdown())
            previous = None
            continue
        if previous is not None and (block.is_list or previous.is_list or block.chunk != previous.chunk):
            lines.append(">")
        lines.extend(f"> {unit.marker} {unit.text}" if unit.marker else f"> {unit.text}" for unit in block.units)
        previous = block
    if lines:
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def _in_language(part: _Part) -> str:
    """The sentence that introduces a passage written in another language than the customer's
    (a help centre that has no article in it), with the blank line after it; "" otherwise. A
    document that says no language is in the hub's default one."""
    written = part.cited[0].language or default_language()
    customer = said_in()  # an Italian customer with no Italian catalog is answered in the default
    if written == customer:
        return ""
    said = _(IN_LANGUAGE, language=language_name(written, in_language=customer))
    return f"{said}\n\n"
