"""What the model is given on the LLM path: the passages found for each question of the
customer's message, not for the message as a whole — so a preamble ("I'm on the Pro plan")
does not put the billing article first, and a second question's article is not crowded out
(issue 14). The hub, the fake model and the helpers are test_llm_conversations'."""

from __future__ import annotations

from tests.app_client import AppClient
from tests.fakes.openai_server import FakeOpenAI, Text
from tests.integration import test_llm_conversations as llm_conversations
from tests.integration.test_llm_conversations import data_block, say

llm_settings = llm_conversations.llm_settings
client = llm_conversations.client  # the hub with an LLM configured against the `model` fake

EXPORTING = "Exporting your data"  # passages carry their article's title, not its file name
CANCELLING = "Cancelling your subscription"


async def titles_given(client: AppClient, model: FakeOpenAI, message: str) -> list[str]:
    """The article title of each passage the model received with `message`, in order."""
    model.script(Text("Here is what the help centre says [1]."))
    await say(client, message)
    return [passage["title"] for passage in data_block(model.requests[0].body)["passages"]]


async def test_a_preamble_does_not_put_another_article_first(client: AppClient, model: FakeOpenAI) -> None:
    titles = await titles_given(
        client, model, "Hi! my name is Dana and I'm on the Pro plan. Can I export my data as CSV?"
    )
    assert titles and titles[0] == EXPORTING, titles


async def test_each_question_of_a_message_has_its_passages_given(client: AppClient, model: FakeOpenAI) -> None:
    titles = await titles_given(client, model, "Can I export my data as CSV and how do I cancel my subscription?")
    assert EXPORTING in titles and CANCELLING in titles, titles
