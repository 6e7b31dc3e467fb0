"""An action's request is built from its templates: values URL-encoded, identity and secrets
filled in by the hub, arguments checked against the schema."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.action_settings import BUILT_IN_NAMES, ActionResultView, ActionSettings
from core.answering.actions import built_in
from core.answering.actions.calls import masked
from core.answering.actions.catalog import Action, MissingIdentity, MissingSecret
from core.answering.actions.results import shown
from core.answering.llm_responder import TOOLS
from core.turn_context import VerifiedIdentity

ORDER_SCHEMA = {
    "type": "object",
    "properties": {"order_number": {"type": "string", "pattern": "^[0-9]{4,10}$"}},
    "required": ["order_number"],
}


def _catalog(monkeypatch: pytest.MonkeyPatch, **extra: object) -> dict[str, Action]:
    monkeypatch.setenv("SHOP_TOKEN", "s3cret-token")
    settings = ActionSettings(
        allowed_hosts=["shop.example.com"],
        declared={
            "order_status": {
                "description": "Look up an order",
                "url": "https://shop.example.com/api/orders/{order_number}?email={contact.email}",
                "headers": {"Authorization": "Bearer {env.SHOP_TOKEN}"},
                "parameters": ORDER_SCHEMA,
                **extra,
            }
        },
    )
    return {name: Action(name, declaration) for name, declaration in settings.declared.items()}


def test_the_request_encodes_values_and_fills_identity_and_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    action = _catalog(monkeypatch)["order_status"]
    request = action.request({"order_number": "../admin?x=1"}, VerifiedIdentity(email="ada+1@example.com"))
    assert request.url == "https://shop.example.com/api/orders/..%2Fadmin%3Fx%3D1?email=ada%2B1%40example.com"
    assert request.headers == {"Authorization": "Bearer s3cret-token"}
    assert request.method == "GET" and request.json is None


def test_a_secret_missing_from_the_environment_is_named_when_the_request_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    action = _catalog(monkeypatch)["order_status"]
    monkeypatch.delenv("SHOP_TOKEN")
    with pytest.raises(MissingSecret) as missing:
        action.request({"order_number": "1234"}, VerifiedIdentity(email="ada@example.com"))
    assert str(missing.value) == "the environment has no SHOP_TOKEN (for its Authorization header)"
    monkeypatch.setenv("SHOP_TOKEN", "s3cret-token")
    assert action.request({"order_number": "1234"}, VerifiedIdentity(email="a@b.co")).headers == {
        "Authorization": "Bearer s3cret-token"
    }


def test_a_customer_without_the_identity_the_action_passes_cannot_call_it(monkeypatch: pytest.MonkeyPatch) -> None:
    action = _catalog(monkeypatch)["order_status"]
    with pytest.raises(MissingIdentity) as missing:
        action.request({"order_number": "1234"}, VerifiedIdentity(phone="+4915100000000"))
    assert missing.value.fields == ["email"]


def test_arguments_are_checked_against_the_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    action = _catalog(monkeypatch)["order_status"]
    assert action.problems({"order_number": "1234"}) == []
    assert action.problems({"order_number": "12"}) == ["order_number: '12' does not match '^[0-9]{4,10}$'"]
    assert action.problems({}) == ["'order_number' is a required property"]


def test_a_write_sends_its_body_template_with_the_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = _catalog(
        monkeypatch,
        method="POST",
        url="https://shop.example.com/api/orders/{order_number}/cancel",
        body={"email": "{contact.email}", "order": "{order_number}"},
        writes=True,
    )
    request = catalog["order_status"].request({"order_number": "1234"}, VerifiedIdentity(email="a@b.co"))
    assert request.json == {"email": "a@b.co", "order": "1234"}


def test_the_audit_masks_personal_data_and_free_text() -> None:
    arguments = {
        "order_number": "123456",
        "email": "ada@example.com",
        "reason": "too dear",
        "note": "I live at 5 High St",
    }
    properties = {"reason": {"type": "string", "enum": ["too dear", "not using it"]}, "note": {"type": "string"}}
    assert masked(arguments, properties) == {
        "order_number": "12•••56",
        "email": "ad•••om",
        "reason": "too dear",
        "note": "I •••St",
    }


def test_no_argument_moves_the_request_up_the_path(monkeypatch: pytest.MonkeyPatch) -> None:
    action = _catalog(monkeypatch)["order_status"]
    loose = Action(
        "loose",
        action.declaration.model_copy(
            update={"parameters": {"type": "object", "properties": {"order_number": {"type": "string"}}}}
        ),
    )
    assert loose.problems({"order_number": ".."}) == ["order_number: '..' is not a value"]
    with pytest.raises(ValueError, match="dot segment"):
        loose.request({"order_number": ".."}, VerifiedIdentity(email="a@b.co"))


def test_a_result_reads_through_the_template_or_is_listed() -> None:
    order = {"status": "shipped", "shipment": {"eta": "Friday"}, "items": [{"name": "Mug", "qty": 2}]}
    view = ActionResultView(template="Order {order_number} is **{status}**, arriving {shipment.eta}.")
    assert shown(view, order, {"order_number": "1234"}) == "Order 1234 is **shipped**, arriving Friday."
    listed = shown(ActionResultView(fields=["status", "items"]), order, {})
    assert listed.splitlines()[0] == "- **Status**: shipped"
    assert "| Name | Qty |" in listed and "| Mug | 2 |" in listed
    missing = shown(ActionResultView(template="{nothing}", fields=["status"]), order, {})
    assert missing == "- **Status**: shipped"


def test_the_names_no_action_may_take_are_every_tool_the_hub_has() -> None:
    hub_tools = {tool["function"]["name"] for tool in TOOLS} | set(built_in.DECLARATIONS)
    assert hub_tools == BUILT_IN_NAMES
    with pytest.raises(ValidationError, match="not a built-in tool's"):
        ActionSettings(declared={"case_note": {"description": "x", "url": "https://a.example/"}})
