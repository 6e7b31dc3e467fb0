"""Which action a customer's message asks for, without an LLM: the operator's example phrasings.

An operator declares `examples = ["where is my order", "track my parcel"]` for `order_status`;
a message triggers the action when it is close enough to one of them, by the cosine of the
knowledge base's sentence embeddings. The message is compared whole and sentence by sentence
(`core.answering.questions`, which drops the greeting): "Hi! I bought a kettle last week and
paid for express shipping. Where is my order?" is matched by its last sentence. Tokens with
three or more digits and email addresses are left out on both sides before encoding: examples
name no order number and a message does: "can you check on order 884213 for me" scores 0.49
with the number, 0.56 without it (on the paraphrases below, 3 points more triggered at the same
false triggers).

MIN_COSINE was chosen with tests/bench/bench_action_phrasing.py (all-MiniLM-L6-v2): six shop
and SaaS actions with three examples each (tests/bench/datasets/actions.json), 90 paraphrases
of them written apart from the examples (short, with typos, with order numbers, inside long
messages), and the 170 questions of config/eval/sample-questions.jsonl, which ask the sample
help centre and must trigger nothing. The bar was fitted on one half (the even paraphrases, the
lines not marked `held_out`), a false trigger counting twice a miss: the gain is flat from 0.54
to 0.58 and the lowest was kept. At 0.54:

                                           right action  wrong action  none   false triggers
    held-out paraphrases (42)                  78.6 %        7.1 %    14.3 %
    held-out help-centre questions (70)                                       1.4 % (1)
    calibration half (48 and 100)              93.8 %        2.1 %     4.2 %   5.0 % (5)

The false triggers ask about the very thing an action does: "how do i cancel my subscription"
(0.95 with "cancel my subscription"), "where can i download my invoices as pdf", "how long does a
refund take to show up on my card", "can i add our accountant so she gets the invoices too". No
bar on this cosine separates them from requests; the help centre answers them, which is why the
caller also weighs the match against the knowledge base's best passage before running an
action. An outside check, Bitext's shop customers (never fitted on), shows how far that matters:
93 % of its order-tracking, refund-tracking and shipping-address questions trigger the right
action, and 23 % of its questions for no declared action trigger one, nearly all from intents
sharing an action's verb or object ("cancel my order" and "cancel the newsletter subscription"
→ cancel_subscription, "what is your refund policy" → refund_status, "set up a new shipping
address" → change_delivery_address): the margin over a shop's help centre is what would keep
these out.

The held-out misses are typos and wordings no example comes near ("cancel subscrption" 0.50,
"check the progress of my complaint" 0.44); the wrong actions are neighbours ("I'd like to know
where my delivery is" → change_delivery_address, 0.61).

Sentences: the long paraphrases reached the bar whole too, but barely (0.59 and 0.64 for ones
whose asking sentence scores 0.98 and 0.87: a longer preamble would have sunk them); matching
sentences cost one false trigger on the help-centre set ("can i add our accountant so she gets
the invoices too", a clause of a longer question: 0.48 whole, 0.61 alone).
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from core.answering.questions import questions

MIN_COSINE = 0.54
"""The cosine with an example phrasing a message needs to trigger its action (see above)."""
_HOW_TO = re.compile(
    r"(?:(?:hi|hello|hey)\b[\s,!.]*)?"
    r"(?:how\s+(?:do|can|could|would|should|does|to)\b|(?:can|could|may)\s+i\b|where\s+(?:can|do)\s+i\b"
    r"|is\s+(?:it|there)\s+(?:possible|a\s+way)\b|what\s+happens\s+(?:if|when)\b)",
    re.IGNORECASE,
)
_IDENTIFIER = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|[#\w./-]*\d{3,}[\w./-]*")


@dataclass(frozen=True, slots=True)
class ActionMatch:
    action: str
    cosine: float
    example: str
    """The operator's phrasing the message came closest to."""
    said: str
    """What matched it: the whole message or one of its sentences."""


class ActionMatcher:
    """The operator's actions by their example phrasings; built once per set of declarations.

    `encode` is the knowledge base's `encode` (texts → L2-normalised rows; a message the search
    encoded is not encoded again, `knowledge.embedding.recent_vectors`), and `aencode` its `aencode` (the
    same from the event loop: a text the search did not see rides in its next batch; None:
    `amatch` runs `match` in a thread). The examples are encoded on the first match, once,
    under a lock: building a matcher costs nothing when no message ever needs it, and
    concurrent first matches encode them only once."""

    def __init__(
        self,
        examples: Mapping[str, Sequence[str]],
        encode: Callable[[list[str]], np.ndarray],
        *,
        aencode: Callable[[list[str]], Awaitable[np.ndarray]] | None = None,
        min_cosine: float = MIN_COSINE,
    ) -> None:
        self._phrasings = [(action, example) for action, said in examples.items() for example in said]
        self._encode = encode
        self._aencode = aencode
        self.min_cosine = min_cosine
        self._vectors: np.ndarray | None = None
        self._lock = threading.Lock()

    def match(self, text: str) -> ActionMatch | None:
        """The action whose example is closest to `text` or one of its sentences, when that
        cosine reaches the bar; else None. Blocking (it runs the model): call it in a thread."""
        said = _candidates(text)
        if not self._phrasings or not said:
            return None
        return self._best(said, self._encode([masked for _, masked in said]), self._examples())

    async def amatch(self, text: str) -> ActionMatch | None:
        """`match` from the event loop."""
        if self._aencode is None:
            return await asyncio.to_thread(self.match, text)
        said = _candidates(text)
        if not self._phrasings or not said:
            return None
        examples = self._vectors if self._vectors is not None else await asyncio.to_thread(self._examples)
        return self._best(said, await self._aencode([masked for _, masked in said]), examples)

    def _best(self, said: list[tuple[str, str]], vectors: np.ndarray, examples: np.ndarray) -> ActionMatch | None:
        scores = vectors @ examples.T
        row, column = np.unravel_index(int(np.argmax(scores)), scores.shape)
        cosine = float(scores[row, column])
        if cosine < self.min_cosine:
            return None
        action, example = self._phrasings[column]
        return ActionMatch(action=action, cosine=cosine, example=example, said=said[row][0])

    def _examples(self) -> np.ndarray:
        if self._vectors is None:
            with self._lock:
                if self._vectors is None:
                    self._vectors = self._encode([_masked(example) or example for _, example in self._phrasings])
        return self._vectors


def asks_how_to(text: str) -> bool:
    """Whether `text` asks how to do something oneself ("how do I cancel my subscription?", "can
    I get my money back?"): a help-centre question, not a request for the bot to do it."""
    return _HOW_TO.match(text.strip()) is not None


def _candidates(text: str) -> list[tuple[str, str]]:
    """(as written, as encoded) for the whole message and each of its sentences, each once."""
    found: dict[str, str] = {}
    for part in [text.strip(), *questions(text)]:
        masked = _masked(part)
        if masked and masked not in found.values():
            found[part] = masked
    return list(found.items())


def _masked(text: str) -> str:
    return " ".join(_IDENTIFIER.sub(" ", text).split())
