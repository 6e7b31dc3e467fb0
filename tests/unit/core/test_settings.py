"""Settings: TOML plus environment, and one clear line naming a bad key."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from channels.api.settings import ApiSettings
from core.settings import Settings, SettingsError, load_settings
from knowledge.settings import KnowledgeSettings
from tests.cli_runner import supporthub

EXAMPLE = Path("config/supporthub.example.toml")


def test_example_config_loads_and_documents_every_section() -> None:
    settings = load_settings(EXAMPLE)
    text = EXAMPLE.read_text()
    for section in ("server", "knowledge", "answer", "api", "web", "outbox", "handoff.hours", "actions", "schedule"):
        assert f"[{section}]" in text or f"[[{section}]]" in text
    assert settings.schedule[0].cron == "0 3 * * *"


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "hub.toml"
    config.write_text("[server]\nport = 9000\n[answer]\ntop_k = 3\n")
    monkeypatch.setenv("SUPPORTHUB_SERVER__PORT", "9100")
    monkeypatch.setenv("SUPPORTHUB_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("SUPPORTHUB_API__TOKEN", "s3cret")
    settings = load_settings(config)
    assert settings.server.port == 9100 and settings.answer.top_k == 3
    assert settings.data_dir == tmp_path / "d"
    assert settings.resolved_database_url.endswith("/d/supporthub.db")
    assert settings.section(ApiSettings).token is not None and "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("[server]\nport = 'eighty'\n", "server.port"),
        ("[answer]\ntop_k = 0\n", "answer.top_k"),
        ("[server]\nprot = 80\n", "server.prot"),
        ("[api]\ntoken = 'in-the-file'\n", "api.token"),
        ("[[schedule]]\nname = 'x'\n", "schedule.0"),
        ("[[schedule]]\nname = 'x'\ncron = '61 * * * *'\n", "schedule.0.cron"),
        ("[server\n", "not valid TOML"),
        ("[telegram]\npublic_url = 'http://hub.example.com'\n", "telegram.public_url"),
        ("[telegram]\nwebhook_secret = 'in-the-file'\n", "telegram.webhook_secret"),
        ("[sms]\nauth_token = 'in-the-file'\n", "sms.auth_token"),
        ("[sms]\nfrom_number = '5551234'\n", "sms.from_number"),
        ("[handoff.hours]\nmonday = '9-5'\n", "handoff.hours.monday"),
        ("[handoff.hours]\nfriday = '22:00-06:00'\n", "handoff.hours.friday"),
        ("[handoff.hours]\ntimezone = 'Berlin'\n", "handoff.hours.timezone"),
        ("[handoff.hours]\nholidays = [2025-12-25]\n", "handoff.hours"),
    ],
)
def test_bad_settings_name_the_key(tmp_path: Path, toml: str, key: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(toml)
    with pytest.raises(SettingsError, match=key.replace(".", r"\.")):
        load_settings(config)


@pytest.mark.parametrize(
    ("environment", "missing"),
    [
        (
            {"SUPPORTHUB_TELEGRAM__BOT_TOKEN": "1:a", "SUPPORTHUB_TELEGRAM__PUBLIC_URL": "https://hub.example.com"},
            "SUPPORTHUB_TELEGRAM__WEBHOOK_SECRET",
        ),
        (
            {
                "SUPPORTHUB_SMS__ACCOUNT_SID": "AC1",
                "SUPPORTHUB_SMS__AUTH_TOKEN": "t",
                "SUPPORTHUB_SMS__FROM_NUMBER": "+15005550006",
            },
            "SUPPORTHUB_SMS__PUBLIC_URL",
        ),
    ],
)
def test_a_channel_missing_its_webhook_setting_does_not_start(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], missing: str
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=missing):
        load_settings(None)


def test_bad_setting_stops_the_cli_with_status_2_and_one_line(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[server]\nport = 70000\n")
    result = supporthub("serve", "--config", str(config))
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and "server.port" in result.stderr


def test_bad_environment_value_names_the_variable_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORTHUB_OUTBOX__MAX_ATTEMPTS", "many")
    with pytest.raises(SettingsError, match=r"outbox\.max_attempts"):
        load_settings(EXAMPLE)


def test_a_list_in_the_environment_that_is_not_json_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORTHUB_KNOWLEDGE__PATHS", "config/knowledge")
    with pytest.raises(SettingsError, match=r"knowledge.*JSON"):
        load_settings(EXAMPLE)


def test_business_hours_read_from_the_file_and_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "hub.toml"
    config.write_text(
        '[handoff.hours]\ntimezone = "Europe/Berlin"\nfriday = "09:00-12:00, 13:00-16:00"\n'
        'holidays = [2025-12-25, "2025-12-26"]\n'
    )
    assert not any(load_settings(EXAMPLE).handoff.hours.week())  # off unless set
    monkeypatch.setenv("SUPPORTHUB_HANDOFF__HOURS__MONDAY", "09:00-17:30")
    hours = load_settings(config).handoff.hours
    assert hours.week() == (((540, 1050),), (), (), (), ((540, 720), (780, 960)), (), ())
    assert hours.holidays == [date(2025, 12, 25), date(2025, 12, 26)]


def test_a_section_built_as_a_model_is_overridden_key_by_key_by_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """One `SUPPORTHUB_KNOWLEDGE__…` variable once replaced a section given as a model with the
    section's defaults, the caller's `paths` lost (the TOML file's tables always merged)."""
    monkeypatch.setenv("SUPPORTHUB_KNOWLEDGE__REHEARSAL_GATE", "block")
    settings = Settings(knowledge=KnowledgeSettings(paths=[tmp_path], chunk_max_chars=900))
    assert settings.knowledge.paths == [tmp_path] and settings.knowledge.chunk_max_chars == 900
    assert settings.knowledge.rehearsal_gate == "block"
