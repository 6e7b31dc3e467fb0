"""Actions through the real hub: the customer asks, the hub calls the fake company API with the
verified identity it holds, and the answer (or a polite failure) comes back. Offline (example
phrasings, slots, confirmation) and with the model (tool calls through the fake OpenAI server)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from core.action_settings import ActionSettings
from core.cli.server import create_app
from core.settings import AdminSettings, LlmSettings, Settings, SettingsError, load_settings
from tests.app_client import AppClient
from tests.cli_runner import supporthub, without_supporthub_environment
from tests.conftest import SAMPLE_KNOWLEDGE
from tests.fakes.company_api import SECRET_DETAIL, FakeCompanyApi
from tests.fakes.openai_server import Call, FakeOpenAI, Text, ToolCalls
from tests.integration.trusted import TRUSTED, trusted_api

TOKEN_ENV = "SHOP_API_TOKEN"
UNSTAFFED = "You can reach our support team at support@brightdesk.example or +1 555 0100."
"""Where to reach the team with no staff desk ([handoff.contact]'s defaults)."""
ADMIN = {"Authorization": "Bearer admin-token-for-actions"}
ORDER = {
    "type": "object",
    "properties": {"order_number": {"type": "string", "pattern": "^[0-9]{5}$", "description": "order number"}},
    "required": ["order_number"],
}


def shop_actions(api: FakeCompanyApi, allowed: list[str], **more: dict[str, Any]) -> ActionSettings:
    return ActionSettings(
        allowed_hosts=allowed,
        private_hosts=[api.host_port],
        declared={
            "order_status": {
                "description": "Look up the status of one of the customer's orders",
                "url": f"{api.url}/api/orders/{{order_number}}?email={{contact.email}}",
                "headers": {"Authorization": f"Bearer {{env.{TOKEN_ENV}}}"},
                "parameters": ORDER,
                "examples": ["where is my order", "track my parcel", "has my order shipped yet"],
                "result": {"template": "Order {order_number} is **{status}** with {carrier}, arriving {eta}."},
            },
            "cancel_subscription": {
                "description": "Cancel the customer's subscription",
                "method": "POST",
                "url": f"{api.url}/api/subscriptions/cancel",
                "headers": {"Authorization": f"Bearer {{env.{TOKEN_ENV}}}"},
                "body": {"email": "{contact.email}"},
                "writes": True,
                "examples": ["cancel my subscription", "I want to end my subscription"],
                "result": {"template": "Done: your subscription ends on {effective}."},
            },
            **more,
        },
    )


@pytest.fixture
def settings_for(
    make_settings: Callable[..., Settings], company_api: FakeCompanyApi, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Settings]:
    monkeypatch.setenv(TOKEN_ENV, company_api.token)

    def make(**overrides: Any) -> Settings:
        return make_settings(
            api=trusted_api(),
            admin=AdminSettings(token=SecretStr(ADMIN["Authorization"].removeprefix("Bearer "))),
            actions=shop_actions(company_api, overrides.pop("allowed", []), **overrides.pop("more", {})),
            **overrides,
        )

    return make


@pytest.fixture
async def llm_client(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], model: FakeOpenAI
) -> AppClient:
    """The hub answering with the model (the fake OpenAI server), the shop's actions as its tools."""
    llm = LlmSettings(base_url=model.base_url, api_key=SecretStr("sk-test"), max_retries=0, timeout_s=10)
    return await aiohttp_client(create_app(settings_for(llm=llm)), headers=TRUSTED)  # type: ignore[no-any-return]


@pytest.fixture
async def client(aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings]) -> AppClient:
    return await aiohttp_client(create_app(settings_for()), headers=TRUSTED)  # type: ignore[no-any-return]


async def say(client: AppClient, text: str, *, contact: str = "ada", **extra: Any) -> dict[str, Any]:
    response = await client.post("/api/messages", json={"contact": contact, "text": text, **extra})
    assert response.status == 200, await response.text()
    reply: dict[str, Any] = (await response.json())["reply"]
    return reply


async def audit(client: AppClient) -> list[dict[str, Any]]:
    response = await client.get("/admin/api/actions", headers=ADMIN)
    assert response.status == 200, await response.text()
    calls: list[dict[str, Any]] = (await response.json())["audit"]["calls"]
    return calls


async def test_an_order_is_looked_up_with_the_verified_email_and_shown(
    client: AppClient, company_api: FakeCompanyApi
) -> None:
    company_api.add_order("12345", email="ada@example.com", status="shipped", carrier="DHL", eta="Friday")
    reply = await say(client, "Hi! Where is my order 12345?", email="ada@example.com")
    assert reply["text"] == "Order 12345 is **shipped** with DHL, arriving Friday."
    [request] = company_api.requests_to("/api/orders")
    assert request.query["email"] == "ada@example.com"
    assert request.headers["Authorization"] == f"Bearer {company_api.token}"


@pytest.mark.parametrize("number", ["12345", "54321"])  # Ada's order, and no such order
async def test_an_order_the_shop_does_not_find_for_the_customer_is_said_so_with_its_status_audited(
    client: AppClient, company_api: FakeCompanyApi, number: str
) -> None:
    company_api.add_order("12345", email="ada@example.com", status="shipped", carrier="DHL", eta="Friday")
    reply = await say(client, f"where is my order {number}", contact="mallory", email="mallory@example.com")
    assert reply["text"] == f"I couldn't find order number {number} for your account."
    assert reply["handoff"] is False
    [request] = company_api.requests_to("/api/orders")
    assert request.query["email"] == "mallory@example.com"
    [call] = await audit(client)
    assert (call["outcome"], call["http_status"]) == ("http_404", 404)


async def test_a_customer_who_is_not_verified_is_asked_to_verify_and_nothing_is_called(
    client: AppClient, company_api: FakeCompanyApi
) -> None:
    reply = await say(client, "where is my order 12345?")
    assert reply["text"].startswith("I can only do that for a verified account")
    assert company_api.requests == []
    [call] = await audit(client)
    assert call["action"] == "order_status" and call["outcome"] == "unverified"


async def test_a_missing_order_number_is_asked_for_and_taken_from_the_next_message(
    client: AppClient, company_api: FakeCompanyApi
) -> None:
    company_api.add_order("54321", email="ada@example.com", status="packed", carrier="UPS", eta="Monday")
    asked = await say(client, "track my parcel please", email="ada@example.com")
    assert asked["text"] == "What is your order number?"
    assert company_api.requests == []
    unreadable = await say(client, "12", email="ada@example.com")
    assert unreadable["text"].startswith("That doesn't look right")
    answered = await say(client, "54321", email="ada@example.com")
    assert answered["text"] == "Order 54321 is **packed** with UPS, arriving Monday."


async def test_the_order_number_given_last_week_is_remembered(client: AppClient, company_api: FakeCompanyApi) -> None:
    company_api.add_order("77777", email="ada@example.com", status="delivered", carrier="DPD", eta="yesterday")
    await say(client, "my order number is 77777", email="ada@example.com")
    reply = await say(client, "has my order shipped yet?", contact="ada-elsewhere", email="ada@example.com")
    assert reply["text"] == "Order 77777 is **delivered** with DPD, arriving yesterday."


async def test_an_order_number_said_now_wins_over_the_one_remembered(
    client: AppClient, company_api: FakeCompanyApi
) -> None:
    company_api.add_order("12345", email="ada@example.com", status="shipped", carrier="DHL", eta="Friday")
    await say(client, "my order number is 12345", email="ada@example.com")
    looked_up = len(company_api.requests_to("/api/orders"))
    reply = await say(client, "where is my order 123?", contact="ada-elsewhere", email="ada@example.com")
    assert reply["text"] == "123 doesn't look like your order number. What is your order number?"
    assert len(company_api.requests_to("/api/orders")) == looked_up
    answered = await say(client, "12345", contact="ada-elsewhere", email="ada@example.com")
    assert answered["text"] == "Order 12345 is **shipped** with DHL, arriving Friday."


async def test_a_write_runs_only_after_yes(client: AppClient, company_api: FakeCompanyApi) -> None:
    asked = await say(client, "I want to cancel my subscription", email="ada@example.com")
    assert asked["text"].endswith("Shall I go ahead? Please reply yes or no.")
    assert company_api.cancellations == []
    done = await say(client, "yes please", email="ada@example.com")
    assert done["text"] == "Done: your subscription ends on 2026-12-31."
    assert [c.email for c in company_api.cancellations] == ["ada@example.com"]
    [request] = company_api.requests_to("/api/subscriptions/cancel")
    assert request.headers["Idempotency-Key"].endswith("-cancel_subscription")


async def test_a_write_the_customer_says_no_to_is_not_run(client: AppClient, company_api: FakeCompanyApi) -> None:
    await say(client, "cancel my subscription", email="ada@example.com")
    said_no = await say(client, "no", email="ada@example.com")
    assert said_no["text"] == "OK, I haven't done anything."
    assert company_api.cancellations == []
    assert [call["outcome"] for call in await audit(client)] == ["declined"]


@pytest.mark.parametrize("path", ["/slow", "/broken"])
async def test_a_slow_or_broken_endpoint_is_answered_politely_with_the_team_offered(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], company_api: FakeCompanyApi, path: str
) -> None:
    lookup = {
        "description": "Check the stock of a product",
        "url": f"{company_api.url}{path}",
        "examples": ["is the blue mug in stock"],
        "timeout_s": 1 if path == "/slow" else 60,  # /slow never answers; /broken may be slow on a busy machine
    }
    client = await aiohttp_client(create_app(settings_for(more={"stock": lookup})), headers=TRUSTED)
    reply = await say(client, "is the blue mug in stock?")
    assert reply["text"].startswith("Sorry, I couldn't get that done just now")
    assert reply["text"].endswith(UNSTAFFED) and reply["handoff"] is True  # no desk here: where to reach the team
    assert "bring in a person" not in reply["text"]
    assert SECRET_DETAIL not in reply["text"] and "Traceback" not in reply["text"]
    [call] = await audit(client)
    assert (call["outcome"], call["http_status"]) == (("timeout", None) if path == "/slow" else ("http_500", 500))


async def test_cloud_metadata_and_a_redirect_away_are_refused(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], company_api: FakeCompanyApi
) -> None:
    metadata = {
        "description": "Read the instance's metadata",
        "url": "http://169.254.169.254/latest/meta-data/",
        "examples": ["what is the instance metadata"],
    }
    away = {
        "description": "Follow the redirect",
        "url": f"{company_api.url}/redirect-away",
        "examples": ["where do you redirect me"],
    }
    settings = settings_for(more={"metadata": metadata, "away": away}, allowed=["169.254.169.254"])
    client = await aiohttp_client(create_app(settings), headers=TRUSTED)
    for question in ("what is the instance metadata?", "where do you redirect me?"):
        assert (await say(client, question))["text"].startswith("Sorry, I couldn't get that done just now")
    assert [call["outcome"] for call in await audit(client)] == ["refused", "refused"]
    assert len(company_api.requests_to("/redirect-away")) == 1


async def test_a_header_secret_missing_from_the_environment_fails_only_the_action_that_needs_it(
    aiohttp_client: Callable[..., Any],
    settings_for: Callable[..., Settings],
    company_api: FakeCompanyApi,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.delenv(TOKEN_ENV)
    client = await aiohttp_client(create_app(settings_for()), headers=TRUSTED)
    answered = await say(client, "How do I reset my password?", email="ada@example.com")
    assert answered["citations"] and company_api.requests == []
    reply = await say(client, "where is my order 12345?", email="ada@example.com")
    assert reply["text"].startswith("Sorry, I couldn't get that done just now") and reply["handoff"] is True
    assert company_api.requests == []
    [call] = await audit(client)
    assert call["outcome"] == "missing_secret"
    assert call["detail"] == f"the environment has no {TOKEN_ENV} (for its Authorization header)"
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and TOKEN_ENV in r.getMessage()]
    assert any("order_status" in line for line in warned), warned


def test_supporthub_ask_starts_without_an_actions_header_secret(
    indexed_data_dir: Path, tmp_path: Path, company_api: FakeCompanyApi
) -> None:
    config = company_api.order_status_config(tmp_path / "shop.toml", token_env=TOKEN_ENV)
    asked = supporthub(
        "ask",
        "--config",
        str(config),
        "How do I reset my password?",
        env={
            **without_supporthub_environment(),
            TOKEN_ENV: None,
            "SUPPORTHUB_DATA_DIR": str(indexed_data_dir),
            "SUPPORTHUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}",
            "SUPPORTHUB_KNOWLEDGE__PATHS": json.dumps([str(SAMPLE_KNOWLEDGE)]),
            "SUPPORTHUB_LOG__LEVEL": "WARNING",
        },
    )
    assert asked.exit_code == 0, asked.stderr
    assert "password" in asked.stdout.lower()
    assert f"the environment has no {TOKEN_ENV}" in asked.stderr  # the start-up warning, naming the action
    assert "order_status" in asked.stderr


def test_a_loopback_port_the_operator_did_not_list_is_refused_at_start_up(
    tmp_path: Any, company_api: FakeCompanyApi
) -> None:
    config = tmp_path / "supporthub.toml"
    other_port = int(company_api.host_port.rsplit(":", 1)[1]) + 1
    config.write_text(
        f'[actions]\nprivate_hosts = ["{company_api.host_port}"]\n'
        "[actions.declared.peek]\n"
        'description = "peek"\n'
        f'url = "http://127.0.0.1:{other_port}/admin"\n'
    )
    with pytest.raises(SettingsError, match=rf"peek.url: 127.0.0.1:{other_port} is in neither"):
        load_settings(config)


async def test_the_model_calls_the_action_with_its_arguments_and_the_hubs_identity(
    llm_client: AppClient, company_api: FakeCompanyApi, model: FakeOpenAI
) -> None:
    client = llm_client
    company_api.add_order("12345", email="ada@example.com", status="shipped", carrier="DHL", eta="Friday")
    model.script(
        ToolCalls(Call("order_status", {"order_number": "12345", "email": "mallory@example.com"})),
        Text("Your order 12345 has shipped with DHL and arrives Friday."),
    )
    reply = await say(client, "where's my stuff? order 12345", email="ada@example.com")
    assert reply["text"] == "Your order 12345 has shipped with DHL and arrives Friday."
    assert reply["handoff"] is False
    [request] = company_api.requests_to("/api/orders")
    assert request.query["email"] == "ada@example.com"  # the model's email was dropped
    tools = [tool["function"]["name"] for tool in model.requests[0].body["tools"]]
    assert {"order_status", "cancel_subscription", "case_status", "case_note"} <= set(tools)
    result = model.requests[1].body["messages"][-1]["content"]
    assert '"status": "shipped"' in result


async def test_the_models_invalid_arguments_are_not_sent(
    llm_client: AppClient, company_api: FakeCompanyApi, model: FakeOpenAI
) -> None:
    client = llm_client
    model.script(
        ToolCalls(Call("order_status", {"order_number": "12"})),
        Text("Could you check your order number? It has five digits."),
    )
    reply = await say(client, "where is order 12", email="ada@example.com")
    assert reply["text"] == "Could you check your order number? It has five digits."
    assert "does not match" in model.requests[1].body["messages"][-1]["content"]
    assert company_api.requests == []
    assert [call["outcome"] for call in await audit(client)] == ["invalid"]


async def test_the_models_write_waits_for_the_customers_yes(
    llm_client: AppClient, company_api: FakeCompanyApi, model: FakeOpenAI
) -> None:
    client = llm_client
    model.script(ToolCalls(Call("cancel_subscription", {})))
    asked = await say(client, "please end my subscription", email="ada@example.com")
    assert asked["text"].endswith("Shall I go ahead? Please reply yes or no.")
    assert company_api.cancellations == []
    done = await say(client, "yes", email="ada@example.com")
    assert done["text"] == "Done: your subscription ends on 2026-12-31."
    assert len(model.requests) == 1  # the yes was the hub's to read, not the model's
