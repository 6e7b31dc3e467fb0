"""The log handler: JSON or text lines with the bound ids, and secrets masked in whatever is
logged — messages, values, exception tracebacks."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from core.log_context import bound_ids
from core.ops.logs import HANDLER_NAME, NOISY, configure_logging, settings_secrets
from core.settings import Settings, secret_keys

log = logging.getLogger("core.ops.logs.test")  # one of ours: other libraries are held at WARNING

SECRETS: dict[str, dict[str, Any]] = {
    "api": {"token": "api-token-secret"},
    "web": {"session_secret": "session-secret-1", "identity_secret": "identity-secret-1"},
    "llm": {"api_key": "sk-llm-key-secret"},
    "slack": {"bot_token": "xoxb-bot-secret", "signing_secret": "signing-secret-1", "app_token": "xapp-app-secret"},
    "telegram": {"bot_token": "123456:telegram-secret", "webhook_secret": "webhook-secret-1"},
    "sms": {"auth_token": "twilio-auth-secret", "webhook_signing_key": "twilio-key-secret"},
    "email": {"smtp_password": "smtp-password-1", "imap_password": "imap-password-1"},
    "whatsapp": {
        "access_token": "EAAG-graph-secret",
        "app_secret": "meta-app-secret-1",
        "verify_token": "meta-verify-secret",
        "auth_token": "twilio-wa-auth-secret",
        "webhook_signing_key": "twilio-wa-key-secret",
    },
    "messenger": {
        "access_token": "EAAPage-token-secret",
        "app_secret": "messenger-app-secret-1",
        "verify_token": "messenger-verify-secret",
    },
    "instagram": {
        "access_token": "IGQW-token-secret",
        "app_secret": "instagram-app-secret-1",
        "verify_token": "instagram-verify-secret",
    },
    "discord": {"bot_token": "MTA5.discord-bot-secret"},
    "teams": {"app_password": "Xq8~teams-app-password-secret"},
    "admin": {"token": "admin-token-secret"},
}
DATABASE_PASSWORD = "pg/pass word"
"""Percent-encoded in the URL; a driver's error may show it either way."""


def settings(**overrides: Any) -> Settings:
    return Settings.model_validate(
        {
            **SECRETS,
            "database_url": "postgresql+asyncpg://hub:pg%2Fpass%20word@db:5432/hub",
            "redis_url": "redis://:redis-password@cache:6379/0",
            **overrides,
        }
    )


def every_secret() -> list[str]:
    return [
        *(value for section in SECRETS.values() for value in section.values()),
        DATABASE_PASSWORD,
        "pg%2Fpass%20word",
        "redis-password",
    ]


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """configure_logging changes the process's logging: put it back for the other tests."""
    root = logging.getLogger()
    level, noisy, hook = root.level, {name: logging.getLogger(name).level for name in NOISY}, sys.excepthook
    yield
    sys.excepthook = hook
    for handler in [h for h in root.handlers if h.name == HANDLER_NAME]:
        root.removeHandler(handler)
    root.setLevel(level)
    for name, noisy_level in noisy.items():
        logging.getLogger(name).setLevel(noisy_level)
    logging.captureWarnings(False)


def test_every_secret_setting_is_found() -> None:
    found = settings_secrets(settings())
    assert set(every_secret()) <= found
    configured = {(section, key) for section, values in SECRETS.items() for key in values}
    assert configured == secret_keys()  # a secret added to the settings gets a line here


def test_values_too_short_to_be_secrets_are_left_alone() -> None:
    assert "short" not in settings_secrets(settings(api={"token": "short"}))


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_secrets_are_masked_whatever_is_logged(
    restored_logging: None, capsys: pytest.CaptureFixture[str], log_format: str
) -> None:
    configure_logging(settings(log={"level": "INFO", "format": log_format}))
    for secret in every_secret():
        log.warning("calling with %s", secret)
        log.warning("request %r", {"headers": {"Authorization": f"Bearer {secret}"}, "tokens": [secret]})
        try:
            raise RuntimeError(f'refused "{secret}"')
        except RuntimeError:
            log.exception("the call failed")
    log.warning("GET https://api.telegram.org/bot654321:a-token-not-in-the-settings/getMe failed")
    try:
        raise OSError(f"cannot reach redis://:{every_secret()[-1]}@cache:6379/0")
    except OSError as exc:
        sys.excepthook(type(exc), exc, exc.__traceback__)  # a crash is a (masked) log line too

    output = capsys.readouterr().err
    assert "the call failed" in output and "Traceback" in output and "RuntimeError: refused" in output
    assert "supporthub stopped" in output and "redis://:***@cache" in output
    assert [secret for secret in every_secret() if secret in output] == []
    assert "a-token-not-in-the-settings" not in output and "/bot***/getMe" in output
    if log_format == "json":
        assert all(json.loads(line) for line in output.splitlines())


def test_a_json_line_carries_the_ids_bound_for_its_block(
    restored_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(settings(log={"level": "INFO", "format": "json"}))
    with bound_ids(conversation_id="c-1", message_id=7, channel="sms"):
        log.info("answering message %d", 7)
    log.info("after")

    inside, after = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert inside.keys() == {"timestamp", "level", "logger", "event", "conversation_id", "message_id", "channel"}
    assert inside["event"] == "answering message 7" and inside["level"] == "info"
    assert inside["logger"] == log.name
    assert (inside["conversation_id"], inside["message_id"], inside["channel"]) == ("c-1", 7, "sms")
    assert after.keys() == {"timestamp", "level", "logger", "event"}


def test_configuring_again_replaces_the_handler(restored_logging: None) -> None:
    configure_logging(settings())
    configure_logging(settings())
    assert [h.name for h in logging.getLogger().handlers].count(HANDLER_NAME) == 1


def test_at_info_other_libraries_show_only_warnings_and_nothing_shows_a_debug_line(
    restored_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(settings(log={"level": "INFO", "format": "json"}))
    chatty = logging.getLogger("faiss.loader")
    sets_its_own_level = logging.getLogger("bm25s")
    sets_its_own_level.setLevel(logging.DEBUG)  # as bm25s does when imported
    try:
        chatty.info("Could not load library with AVX512 support")
        sets_its_own_level.debug("Building index from tokens")
        log.debug("a debug line of ours")
        chatty.warning("a library's warning")
        log.info("a line of ours")
    finally:
        sets_its_own_level.setLevel(logging.NOTSET)

    events = [json.loads(line)["event"] for line in capsys.readouterr().err.splitlines()]
    assert events == ["a library's warning", "a line of ours"]
