"""The satisfaction survey, stored: resolving a case asks it once, after the resolved notice
and in the same transaction; the customer's next message answers it when it is a lone digit
(kept, thanked, never put to the bot), and anything else lets it lapse; the buttons' answer
counts once, in its own conversation, while the survey is open."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.channel import RatingResult
from core.desk_port import CaseAction
from core.handoff.cases import move_case
from core.handoff.desk_store import RESOLVED_NOTICE, act_on_case
from core.handoff.survey import OPEN_FOR, QUESTION, THANKS, score_of
from core.messages import Address, Author, InboundMessage, StoredMessage, SurveyPart
from core.pipeline.hub import Hub
from core.pipeline.storage import Storage
from core.settings import Settings
from core.store.case_tables import Case, CaseRating, CaseState
from core.store.db import OutboxItem, utcnow
from core.store.transactions import Transactions
from tests.fakes.flaky_channel import FlakyChannel
from tests.unit.core.pipeline.test_hub import ScriptedAgent, hub_for

pytestmark = pytest.mark.postgres

CUSTOMER = Address("flaky", "dana")
PUSH = frozenset({"flaky"})


@pytest.mark.parametrize(
    ("text", "score"),
    [("4", 4), (" 5 ", 5), ("1.", 1), ("5!", 5), ("3/5", 3), ("3 / 5", 3)],
)
def test_a_lone_digit_is_a_score(text: str, score: int) -> None:
    assert score_of(text) == score


@pytest.mark.parametrize("text", ["0", "6", "10", "45", "4 stars", "2 more questions", "order 4", "", "four"])
def test_anything_else_is_no_score(text: str) -> None:
    assert score_of(text) is None


class Conversation:
    """A customer on a push channel talking to the hub, whose case a person resolves."""

    def __init__(self, storage: Storage, transactions: Transactions) -> None:
        self.agent, self.channel = ScriptedAgent(), FlakyChannel()
        self.hub: Hub = hub_for(storage, self.agent, self.channel, Settings())
        self.transactions = transactions
        self._sent = 0

    async def says(self, text: str) -> StoredMessage:
        self._sent += 1
        receipt = await self.hub.receive(InboundMessage(CUSTOMER, f"m{self._sent}", "dana", text))
        reply = await self.hub.wait_for_reply(receipt.message_id, timeout=10)
        assert reply is not None
        return reply

    async def case_id(self) -> str:
        return await self.transactions.run(lambda s: s.execute(select(Case.id)).scalar_one())

    async def resolved(self, *, actor: str = "U0SAM", survey: bool = True) -> None:
        await self.says("I want to talk to a human please")
        case_id = await self.case_id()
        await self.transactions.run(
            partial(act_on_case, case_id=case_id, action=CaseAction.RESOLVE, actor=actor, push=PUSH, survey=survey)
        )

    async def ratings(self) -> list[tuple[str, str, int | None]]:
        def read(session: Session) -> list[tuple[str, str, int | None]]:
            rows = session.execute(select(CaseRating.staff, CaseRating.channel, CaseRating.score)).all()
            return [(row.staff, row.channel, row.score) for row in rows]

        return await self.transactions.run(read)

    async def messages(self) -> list[StoredMessage]:
        return await self.hub.history(CUSTOMER)


@pytest.fixture
async def talk(storage: Storage, transactions: Transactions) -> Conversation:
    return Conversation(storage, transactions)


async def test_resolving_asks_once_after_the_notice_in_the_same_transaction(
    talk: Conversation, transactions: Transactions
) -> None:
    await talk.says("I want to talk to a human please")
    case_id = await talk.case_id()
    await transactions.run(partial(move_case, case_id=case_id, to=CaseState.HUMAN, actor="U0KIM"))
    await transactions.run(partial(act_on_case, case_id=case_id, action=CaseAction.RESOLVE, actor="U0SAM", push=PUSH))
    *_, notice, question = await talk.messages()
    assert (notice.author, notice.text, notice.survey) == (Author.STAFF, RESOLVED_NOTICE, None)
    assert (question.author, question.text, question.survey) == (Author.BOT, QUESTION, SurveyPart.QUESTION)
    assert await talk.ratings() == [("U0KIM", "flaky", None)]  # the person who had the case
    queued = await transactions.run(
        lambda s: list(s.execute(select(OutboxItem.message_id).order_by(OutboxItem.id)).scalars())
    )
    assert queued[-2:] == [notice.id, question.id]  # delivered in this order, once each


async def test_without_the_survey_resolving_only_tells_the_customer(talk: Conversation) -> None:
    await talk.resolved(survey=False)
    assert (await talk.messages())[-1].text == RESOLVED_NOTICE
    assert await talk.ratings() == []


async def test_a_digit_answers_the_survey_and_a_second_digit_is_an_ordinary_message(talk: Conversation) -> None:
    await talk.resolved()
    calls = talk.agent.calls
    thanks = await talk.says("4")
    assert (thanks.author, thanks.text, thanks.survey) == (Author.BOT, THANKS, SurveyPart.THANKS)
    assert talk.agent.calls == calls  # the bot was not asked about "4"
    assert await talk.ratings() == [("U0SAM", "flaky", 4)]  # nobody claimed it: whoever resolved it
    again = await talk.says("5")
    assert again.text == "An answer to: 5" and talk.agent.calls == calls + 1
    assert await talk.ratings() == [("U0SAM", "flaky", 4)]


async def test_any_other_message_lets_the_survey_lapse(talk: Conversation) -> None:
    await talk.resolved()
    assert (await talk.says("how do I export my data?")).text == "An answer to: how do I export my data?"
    assert (await talk.says("3")).text == "An answer to: 3"
    assert await talk.ratings() == [("U0SAM", "flaky", None)]


async def test_a_digit_after_the_survey_closed_is_an_ordinary_message(
    talk: Conversation, transactions: Transactions
) -> None:
    await talk.resolved()
    await transactions.run(
        lambda s: s.execute(update(CaseRating).values(asked_at=utcnow() - OPEN_FOR - timedelta(minutes=1)))
    )
    assert (await talk.says("5")).text == "An answer to: 5"
    assert await talk.ratings() == [("U0SAM", "flaky", None)]


async def test_the_buttons_answer_once_in_their_own_conversation_while_open(
    talk: Conversation, storage: Storage, transactions: Transactions
) -> None:
    await talk.resolved()
    question = (await talk.messages())[-1]
    elsewhere = Address("flaky", "eve")
    assert await storage.surveys.answer(question.id, score=2, address=elsewhere) is RatingResult.NOT_FOUND
    assert await storage.surveys.answer(question.id - 1, score=2, address=CUSTOMER) is RatingResult.NOT_FOUND
    assert (await talk.says("thanks!")).text == "An answer to: thanks!"  # the buttons still count after this
    assert await storage.surveys.answer(question.id, score=5, address=CUSTOMER) is RatingResult.SAVED
    assert await storage.surveys.answer(question.id, score=1, address=CUSTOMER) is RatingResult.CLOSED
    assert await talk.ratings() == [("U0SAM", "flaky", 5)]


async def test_the_buttons_of_a_survey_asked_over_a_day_ago_are_closed(
    talk: Conversation, storage: Storage, transactions: Transactions
) -> None:
    await talk.resolved()
    question = (await talk.messages())[-1]
    await transactions.run(lambda s: s.execute(update(CaseRating).values(asked_at=utcnow() - OPEN_FOR)))
    assert await storage.surveys.answer(question.id, score=4, address=CUSTOMER) is RatingResult.CLOSED


async def test_a_digit_and_a_button_at_once_keep_one_answer(talk: Conversation, storage: Storage) -> None:
    await talk.resolved()
    question = (await talk.messages())[-1]
    typed, pressed = await asyncio.gather(
        talk.says("2"), storage.surveys.answer(question.id, score=5, address=CUSTOMER)
    )
    assert typed.text in (THANKS, "An answer to: 2")  # thanked, unless the button came first
    (rating,) = await talk.ratings()
    assert rating[2] == (5 if pressed is RatingResult.SAVED else 2)  # whichever came first, kept
