"""One settings object, loaded once: a TOML file plus `SUPPORTHUB_<SECTION>__<KEY>` variables.

Environment variables win over the file. Secrets (every `SecretStr` key) are read only from
the environment. Core's own sections are declared here; a channel's section is declared by the
channel itself (`settings_model` on the class its `supporthub.channels` entry point names), so
this module knows no channel by name and a channel shipped as its own package brings its own
`[section]`.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from datetime import date
from functools import cache
from ipaddress import ip_network
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from limits import parse_many
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings import SettingsError as EnvironmentParseError

from core.action_settings import ActionSettings
from core.channel_plugins import channel_classes, missing_channels
from core.languages import detectable
from knowledge.settings import KnowledgeSettings

log = logging.getLogger(__name__)

DEFAULT_CONFIG = Path("config/supporthub.toml")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_PHONE = re.compile(r"\+?[\d\s().-]*\d[\d\s().-]*")


class Section(BaseModel):
    """A section of the settings: an unknown key is an error, and values never change once loaded.
    A channel's `settings_model` derives from it."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


SectionT = TypeVar("SectionT", bound=Section)


class LogSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO",
        description="the least severe line logged: DEBUG, INFO, WARNING or ERROR (other libraries show from WARNING unless DEBUG)",
    )
    format: Literal["auto", "json", "text"] = Field(
        "auto", description="json: one JSON object per line; text: for people; auto: text on a terminal, else json"
    )


class AdminSettings(Section):
    token: SecretStr | None = Field(
        None,
        description="turns /admin on; the Bearer token scripts and /metrics use, and a way in for the first admin "
        "(people sign in with their own accounts: `supporthub staff invite`)",
    )
    public_url: str = Field(
        "",
        description="where people reach the hub, for the links it shows (invitations), "
        "e.g. https://support.example.com; empty = the address `serve` listens on (its --port, else [server]'s)",
    )
    live_streams_per_person: int = Field(
        10,
        ge=1,
        description="inbox pages one person (or the admin token) keeps updating live at once, per hub process; "
        "the next gets 429 and works without updating by itself",
    )


class ServerSettings(Section):
    host: str = Field(
        "127.0.0.1", description="the interface `serve` listens on; 0.0.0.0 for every interface (then set api.token)"
    )
    port: int = Field(
        8080,
        ge=1,
        le=65535,
        description="the port `serve` listens on (`PORT=9000 make run`, `supporthub serve --port 9000`)",
    )
    body_timeout_s: float = Field(60.0, gt=0, description="a request whose body has not arrived by then gets 408")
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description='addresses or networks of your reverse proxies ("10.0.0.0/8", "127.0.0.1"): a request '
        "from one of them counts the client address its X-Forwarded-For names",
    )
    public_hosts: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="host names the hub is reached by (support.example.com) besides localhost, server.host and "
        "IP addresses; the REST API without api.token refuses a request for any other Host",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                ip_network(value.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{value!r} is not an IP address or network like '10.0.0.0/8'") from None
        return [value.strip() for value in values]

    @field_validator("public_hosts")
    @classmethod
    def _host_names(cls, values: list[str]) -> list[str]:
        names = []
        for value in values:
            name = value.strip().rstrip(".").lower()
            if not name or any(c in name for c in "/:@[] \t"):
                raise ValueError(f"{value!r} is not a host name like 'support.example.com' (no scheme, no port)")
            names.append(name)
        return names


class PostgresSettings(Section):
    """How long the hub waits for PostgreSQL (with `database_url`) before it gives up and answers
    503 "try again shortly": every wait is bounded, so a database that stalls costs the requests
    of the stall, not an outage (SQLite's waits are its own: a 5 s lock timeout)."""

    statement_timeout_s: float = Field(
        5.0,
        gt=0,
        description="the longest one statement may go unanswered; then its connection is thrown away, the "
        "transaction tried once more on another, and the hub answers again within this long of the database "
        "answering after a stall (raise it if a dashboard page over a long history needs longer)",
    )
    connect_timeout_s: float = Field(
        5.0, gt=0, description="the longest opening a connection may take (a server that accepts and never answers)"
    )
    pool_timeout_s: float = Field(
        30.0, gt=0, description="the longest a transaction waits for one of the 20 pooled connections to come free"
    )


class AnswerSettings(Section):
    top_k: int = Field(5, ge=1, le=50, description="passages searched for each question of a message")
    min_match: float = Field(
        0.55,
        ge=-1.0,
        le=1.0,
        description="the match at which the other signals decide alone, where the help centre gives no floor "
        "of its own (see calibrate); raising it declines more",
    )
    calibrate: bool = Field(
        True,
        description="use the bar `supporthub eval --calibrate` learned from the operator's labelled questions, "
        "else the help centre's own floor (its question lines, knowledge.search.phrasings) when it lists enough of them, "
        "in place of min_match",
    )
    max_sentences: int = Field(
        3,
        ge=1,
        le=10,
        description="blocks an offline answer quotes at most: the best sentence with the rest of its short "
        "paragraph (or the sentence after it that says whom to call or email), another sentence (with those "
        "before it in its short paragraph that it leans on), a list with the sentence that introduces it, a "
        "table; at most two sentences more than this in all, another section's block only while fewer are quoted",
    )


class LimitsSettings(Section):
    """Messages one sender may send, in the `limits` notation ("30/minute", "5/second;100/hour");
    "" turns a limit off. Behind a reverse proxy set `server.trusted_proxies`, so that the
    limits per IP count each visitor's own address rather than the proxy's."""

    per_contact: str = Field("30/minute", description="messages one customer (contact) may send")
    per_ip: str = Field("300/minute", description="messages one client address may send, over every contact")
    sessions_per_ip: str = Field(
        "20/minute;200/hour",
        description="new widget sessions one client address may open (a session is a new sender to per_contact)",
    )

    @field_validator("per_contact", "per_ip", "sessions_per_ip")
    @classmethod
    def _valid_limit(cls, value: str) -> str:
        if value:
            try:
                parse_many(value)
            except ValueError:
                raise ValueError(f"{value!r} is not a rate limit like '30/minute'") from None
        return value


class OutboxSettings(Section):
    max_attempts: int = Field(
        8,
        ge=1,
        le=100,
        description="delivery attempts of a reply before it becomes a dead letter (shown in /admin, retried with `supporthub outbox retry`)",
    )
    backoff_base_s: float = Field(
        1.0, gt=0, description="the wait before the second attempt; it doubles with each attempt after"
    )
    backoff_max_s: float = Field(300.0, gt=0, description="the longest wait between two attempts")
    poll_interval_s: float = Field(
        1.0, gt=0, description="how often the outbox looks for due deliveries when no wake-up came"
    )


class LlmSettings(Section):
    """An OpenAI-compatible chat model; off (the offline responder answers) unless `base_url`
    or the API key is set."""

    base_url: str = Field("", description="e.g. http://127.0.0.1:11434/v1 for Ollama; empty = api.openai.com")
    model: str = Field("gpt-4o-mini", description="the chat model's name as the server knows it")
    api_key: SecretStr | None = Field(None, description="the model server's key")
    temperature: float = Field(0.2, ge=0.0, le=2.0, description="the model's sampling temperature")
    max_tokens: int = Field(600, ge=16, le=32_000, description="the most tokens one answer may take")
    timeout_s: float = Field(
        30.0, gt=0, description="one request's timeout; a turn that fails falls back to the offline answer"
    )
    max_retries: int = Field(2, ge=0, le=10, description="retries of a failed request (the client's own)")
    max_tool_rounds: int = Field(4, ge=1, le=10, description="search rounds the model may ask for in one turn")

    @property
    def enabled(self) -> bool:
        return bool(self.base_url) or self.api_key is not None


class MemorySettings(Section):
    context_tokens: int = Field(1500, ge=100, le=100_000, description="budget for recent turns in a prompt")
    summarize_after: int = Field(20, ge=4, le=1000, description="messages before older turns are summarized")
    retention_days: int = Field(0, ge=0, description="delete conversations idle this long; 0 = keep")


class AttachmentSettings(Section):
    max_bytes: int = Field(10 * 1024 * 1024, ge=1, description="the largest file a customer may send (bytes)")
    allowed_types: list[str] = Field(
        default_factory=lambda: [".pdf", ".docx", ".xlsx", ".pptx", ".txt", ".md", ".csv", ".json", ".html", ".htm"],
        description="file extensions the bot reads; others are named as not read",
    )
    max_pages: int = Field(50, ge=1, description="pages of a PDF, slides of a deck, sheets of a workbook")
    timeout_s: float = Field(20.0, gt=0, description="what converting one file may take")
    max_chars: int = Field(20_000, ge=100, description="extracted text kept per file")
    max_files: int = Field(5, ge=1, le=50, description="files per message")
    max_unpacked_bytes: int = Field(
        50 * 1024 * 1024, ge=1024 * 1024, description="what a docx, xlsx or pptx may unpack to before it is converted"
    )
    worker_memory_mb: int = Field(1536, ge=768, description="address-space cap of the converter process")
    workers: int = Field(
        2,
        ge=1,
        le=16,
        description="converter processes; one customer's files use all but one "
        "of them at most, so another customer's file finds one free",
    )
    message_timeout_s: float = Field(
        40.0,
        gt=0,
        description="what the files of one message may take to read in all, "
        "waiting their turn included; the rest are named as not read",
    )


FRUSTRATION_PHRASES_BY_LANGUAGE: dict[str, list[str]] = {
    "de": [
        "immer noch nicht",
        "noch immer nicht",
        "schon wieder",
        "zum dritten mal",
        "die nase voll",
        "es reicht",
        "zeitverschwendung",
        "unverschämt",
        "inakzeptabel",
        "nutzlos",
        "lächerlich",
        "niemand hilft",
        "keiner hilft",
        "nicht hilfreich",
        "konto kündigen",
    ],
    "es": [
        "sigue sin funcionar",
        "todavía no funciona",
        "sigue sin",
        "tercera vez",
        "estoy harto",
        "estoy harta",
        "pérdida de tiempo",
        "inaceptable",
        "inútil",
        "no sirve para nada",
        "ridículo",
        "nadie ayuda",
        "nadie responde",
        "cancelar mi cuenta",
    ],
    "fr": [
        "toujours pas",
        "troisième fois",
        "j'en ai marre",
        "ras le bol",
        "perte de temps",
        "inadmissible",
        "inacceptable",
        "inutile",
        "ridicule",
        "n'importe quoi",
        "personne ne répond",
        "personne ne m'aide",
        "résilier mon compte",
    ],
    "pt": [
        "continua sem funcionar",
        "ainda não funciona",
        "terceira vez",
        "estou farto",
        "estou farta",
        "de saco cheio",
        "perda de tempo",
        "inaceitável",
        "inútil",
        "não presta",
        "ridículo",
        "ninguém ajuda",
        "ninguém responde",
        "cancelar minha conta",
    ],
}
"""`sentiment.frustration_phrases_by_language` unless set (a language set replaces only its own list)."""


class SentimentSettings(Section):
    frustration_phrases: list[str] = Field(
        default_factory=lambda: [
            "this is ridiculous",
            "still not working",
            "still doesn't work",
            "waste of time",
            "fed up",
            "sick of",
            "unacceptable",
            "useless",
            "third time",
            "again and again",
            "nobody helps",
            "not helpful",
            "cancel my account",
        ],
        description="phrases that mark an English message (or one of unknown language) as frustrated",
    )
    frustration_phrases_by_language: dict[str, list[str]] = Field(
        default_factory=lambda: {code: list(phrases) for code, phrases in FRUSTRATION_PHRASES_BY_LANGUAGE.items()},
        description="the frustration phrases of each other language (ISO 639-1 code: phrases); a message "
        "in a language listed here is read by these, not by `frustration_phrases`; setting a language "
        "replaces only its own list",
    )

    @field_validator("frustration_phrases_by_language")
    @classmethod
    def _over_defaults(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        """A language set replaces its default list only: setting `it` keeps German's; `de = []`
        turns German's phrases off."""
        return {**FRUSTRATION_PHRASES_BY_LANGUAGE, **{code.strip().lower(): phrases for code, phrases in value.items()}}


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_RANGE = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")
MONDAY_HOURS = (
    'when a person answers on Mondays: "09:00-17:30", or several ranges "09:00-12:00, 13:00-17:00"; '
    '"24:00" ends a range at midnight; unset = closed'
)
DAY_HOURS = "the same for this weekday (unset = closed)"


def opening_ranges(text: str) -> tuple[tuple[int, int], ...]:
    """One day's opening hours, "09:00-12:00, 13:00-17:30", as minutes after midnight
    ((540, 720), (780, 1050)); "" is a closed day. A range ends the day it starts: hours past
    midnight are a range to "24:00" and one from "00:00" the next day."""
    ranges: list[tuple[int, int]] = []
    for part in filter(None, (part.strip() for part in text.split(","))):
        found = _RANGE.fullmatch(part)
        if found is None:
            raise ValueError(f"{part!r} is not a range of hours like '09:00-17:30'")
        start, end = _minutes(*found.group(1, 2)), _minutes(*found.group(3, 4))
        if end <= start:
            raise ValueError(f"{part!r} ends before it starts (past midnight: end at 24:00, open at 00:00 next day)")
        if ranges and start < ranges[-1][1]:
            raise ValueError(f"{part!r} overlaps or comes before the range ahead of it; list a day's ranges in order")
        ranges.append((start, end))
    return tuple(ranges)


def _minutes(hours: str, minutes: str) -> int:
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or value > 24 * 60:
        raise ValueError(f"{hours}:{minutes} is not a time of day (00:00 to 24:00)")
    return value


class LanguageSettings(Section):
    """The languages the hub speaks with customers (docs/languages.md)."""

    default: str = Field(
        "en",
        description="the language the hub speaks before it knows the customer's, and in a language it has no sentences for",
    )
    detect: list[str] = Field(
        default_factory=lambda: ["en", "de", "es", "fr", "pt", "it", "nl"],
        description="the languages a customer's message is recognised among (ISO 639-1 codes; each holds ~40 MB in every process)",
    )
    catalogs: Path | None = Field(
        None,
        description="a folder of <language>.po files whose sentences override the shipped ones, or add a language",
    )
    staff: str = Field(
        "en",
        description="the language staff read and write: with an LLM, customer messages in another are translated for them, and their replies back",
    )

    @field_validator("detect")
    @classmethod
    def _detectable(cls, codes: list[str]) -> list[str]:
        unknown = [code for code in codes if not detectable(code)]
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: not ISO 639-1 codes of languages that can be recognised")
        if not codes:
            raise ValueError("name at least one language")
        return codes

    @field_validator("default", "staff")
    @classmethod
    def _a_language(cls, code: str) -> str:
        if not detectable(code):
            raise ValueError(f"{code!r} is not the ISO 639-1 code of a language (en, de, es…)")
        return code

    @field_validator("catalogs")
    @classmethod
    def _a_folder(cls, folder: Path | None) -> Path | None:
        if folder is not None and not folder.is_dir():
            raise ValueError(f"{folder} is not a folder (of <language>.po files)")
        return folder


class HoursSettings(Section):
    """Business hours: when a person from staff answers. Unset (no day has hours): always open,
    and the SLA counts every minute. Set: a customer handed over out of hours is told when the
    team is back, and `handoff.sla_minutes` counts only minutes inside these hours."""

    timezone: str = Field("UTC", description="the IANA time zone the hours are in: Europe/Berlin, America/New_York")
    monday: str = Field("", description=MONDAY_HOURS)
    tuesday: str = Field("", description=DAY_HOURS)
    wednesday: str = Field("", description=DAY_HOURS)
    thursday: str = Field("", description=DAY_HOURS)
    friday: str = Field("", description=DAY_HOURS)
    saturday: str = Field("", description=DAY_HOURS)
    sunday: str = Field("", description=DAY_HOURS)
    holidays: list[date] = Field(
        default_factory=list,
        description='dates the team is out all day (public holidays, a team day): ["2025-12-25", "2026-01-01"]',
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone like 'Europe/Berlin' or 'America/New_York'") from None
        return value

    @field_validator(*WEEKDAYS)
    @classmethod
    def _valid_hours(cls, value: str) -> str:
        opening_ranges(value)
        return value

    @model_validator(mode="after")
    def _holidays_need_hours(self) -> HoursSettings:
        if self.holidays and not any(self.week()):
            raise ValueError("holidays are listed but no day has opening hours (monday … sunday)")
        return self

    def week(self) -> tuple[tuple[tuple[int, int], ...], ...]:
        """Each weekday's opening ranges, Monday first, in minutes after midnight."""
        return tuple(opening_ranges(getattr(self, day)) for day in WEEKDAYS)


class ContactSettings(Section):
    """Where customers reach your support team outside the chat. With no staff desk (no Slack staff
    channel, nobody in the inbox) no person can join a conversation, so the bot says this wherever
    it would offer one, in the customer's language: "You can reach our support team at
    support@brightdesk.example or +1 555 0100." Both empty: it says plainly there is no other way.
    The defaults are the sample help centre's (like `knowledge.paths`): set your own."""

    email: str = Field("support@brightdesk.example", description="the address people write to for a person")
    phone: str = Field("+1 555 0100", description="the number people call for a person")

    @field_validator("email")
    @classmethod
    def _an_address(cls, value: str) -> str:
        if value and not _EMAIL.fullmatch(value):
            raise ValueError(f"{value!r} is not an email address like 'support@example.com'")
        return value

    @field_validator("phone")
    @classmethod
    def _a_number(cls, value: str) -> str:
        if value and not _PHONE.fullmatch(value):
            raise ValueError(f"{value!r} is not a phone number like '+1 555 0100' (digits, spaces, + - ( ) .)")
        return value


class HandoffSettings(Section):
    frustration_threshold: float = Field(0.7, ge=0.0, le=1.0, description="one message this frustrated escalates")
    frustrated_level: float = Field(0.4, ge=0.0, le=1.0, description="a message counts as frustrated from here")
    frustrated_in_row: int = Field(3, ge=1, description="this many frustrated customer messages in a row escalate")
    unanswered_in_row: int = Field(
        2, ge=1, description="this many questions in a row the bot could not answer escalate"
    )
    keywords: list[str] = Field(
        default_factory=lambda: [
            *("legal", "lawyer", "lawsuit", "chargeback", "gdpr", "data breach"),
            *("anwalt", "dsgvo", "abogado", "avocat", "rgpd", "advogado"),
        ],
        description="words that always bring in a person (matched as written: list each language's)",
    )
    survey: bool = Field(
        True,
        description="when a person resolves a case, ask the customer how it went (1 to 5, in their own channel; "
        "shown on the dashboard per staff member)",
    )
    sla_minutes: int = Field(
        30,
        ge=1,
        description="a waiting case with no staff reply this long is past the SLA (flagged in /admin and the metrics, "
        "pinged in the staff desk); with [handoff.hours] set, only minutes inside business hours count",
    )
    sla_check_s: float = Field(60.0, ge=1, description="how often the leader looks for cases past the SLA")
    mail_waiting_after_minutes: int = Field(
        10,
        ge=0,
        description="a case waiting for a person this long while nobody on the staff is signed in is mailed to "
        "the staff (once per case, through the email channel's relay; needs [email]); 0: never",
    )
    unstaffed_message: str = Field(
        "",
        max_length=500,
        description='your own words in place of the sentence made from [handoff.contact] (e.g. "Please use the '
        'form at example.com/support."; translate it in your catalogs, languages.catalogs); empty: made from '
        "[handoff.contact], in the customer's language",
    )
    contact: ContactSettings = ContactSettings()
    hours: HoursSettings = HoursSettings()


class ScheduleJob(Section):
    """A re-index job: exactly one of `cron` (crontab syntax) or `interval_minutes`."""

    name: str = Field(min_length=1, description="the job's name, in the log and in index_runs")
    cron: str | None = Field(None, description="when to re-index, in crontab syntax (`0 3 * * *`)")
    interval_minutes: float | None = Field(None, gt=0, description="or every this many minutes")

    @field_validator("cron")
    @classmethod
    def _valid_crontab(cls, cron: str | None) -> str | None:
        if cron is not None:
            CronTrigger.from_crontab(cron)  # raises ValueError with the reason
        return cron

    @model_validator(mode="after")
    def _one_trigger(self) -> ScheduleJob:
        if (self.cron is None) == (self.interval_minutes is None):
            raise ValueError("give exactly one of cron or interval_minutes")
        return self


class Settings(BaseSettings):
    """Core's sections, plus one section per installed channel that declares a settings model.

    `Settings(...)` builds an instance of `settings_class()`, the subclass with a field for each
    channel section (named after its entry point), so the file, the environment variables, the
    validation and its errors treat a channel's section exactly like core's own. Read one with
    `settings.section(SlackSettings)`, typed.
    """

    section_names: ClassVar[dict[type[Section], str]] = {}
    """Each channel's settings model and its section's name (set on `settings_class()`)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Settings:
        return super().__new__(settings_class() if cls is Settings else cls)

    if TYPE_CHECKING:

        def __init__(self, **values: Any) -> None:
            """Core's sections and each installed channel's, by name: the channels' are known only
            when the entry points are read, so a type checker takes any name; validation does not."""

    model_config = SettingsConfigDict(
        env_prefix="SUPPORTHUB_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    data_dir: Path = Field(
        Path("data"),
        description="the SQLite database, the vector index and the widget's generated secret (relative to the working folder)",
    )
    database_url: str = Field(
        "", description="`postgresql+asyncpg://user@host/db` for production; unset = SQLite in data_dir"
    )
    redis_url: str = Field("", description="redis://host:6379/0 — shared rate-limit counts for several processes")
    channels: list[str] = Field(
        default_factory=lambda: ["web", "api"],
        description="the channels served, by entry-point name (web, api, slack, telegram, sms, email, or a plug-in's)",
    )
    log: LogSettings = LogSettings()
    admin: AdminSettings = AdminSettings()
    server: ServerSettings = ServerSettings()
    postgres: PostgresSettings = PostgresSettings()
    knowledge: KnowledgeSettings = KnowledgeSettings()
    answer: AnswerSettings = AnswerSettings()
    limits: LimitsSettings = LimitsSettings()
    outbox: OutboxSettings = OutboxSettings()
    llm: LlmSettings = LlmSettings()
    memory: MemorySettings = MemorySettings()
    attachments: AttachmentSettings = AttachmentSettings()
    sentiment: SentimentSettings = SentimentSettings()
    handoff: HandoffSettings = HandoffSettings()
    languages: LanguageSettings = LanguageSettings()
    actions: ActionSettings = ActionSettings()
    schedule: list[ScheduleJob] = Field(
        default_factory=lambda: [], description="re-index jobs `serve` runs (see [[schedule]])"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file arrives as init kwargs; the environment overrides it, key by key.
        return (env_settings, _KeysGiven(settings_cls, init_settings))

    def section(self, model: type[SectionT]) -> SectionT:
        """The section a channel declared with `model` as its `settings_model`."""
        name = type(self).section_names.get(model)
        if name is None:
            raise LookupError(f"no installed channel declares {model.__name__} as its settings")
        value: SectionT = getattr(self, name)
        return value

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{(self.data_dir / 'supporthub.db').resolve()}"


class _KeysGiven(PydanticBaseSettingsSource):
    """The keyword arguments with each section a caller built as a model (`Settings(knowledge=
    KnowledgeSettings(paths=[…]))`) given as the keys it set: the environment then overrides a
    section key by key, as it does the TOML file's tables, instead of one
    `SUPPORTHUB_<SECTION>__<KEY>` replacing the whole section with its defaults."""

    def __init__(self, settings_cls: type[BaseSettings], given: PydanticBaseSettingsSource) -> None:
        super().__init__(settings_cls)
        self._given = given

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return {key: _keys_set(value) for key, value in self._given().items()}


def _keys_set(value: Any) -> Any:
    if not isinstance(value, BaseModel):
        return value
    return {name: _keys_set(getattr(value, name)) for name in value.model_fields_set}


class SettingsError(Exception):
    """A bad setting; the message is one line that names the key."""


@cache
def settings_class() -> type[Settings]:
    """`Settings` with a field for the section of each installed channel that declares one (its
    class's `settings_model`, a `Section`). Loading the entry points imports every installed
    channel's module (≈ 0.5 s for the six built in, none of which loads the database or the
    index): once per process."""
    sections: dict[str, Any] = {}
    for name, channel in channel_classes().items():
        model = getattr(channel, "settings_model", None)
        if model is None:
            continue
        if not (isinstance(model, type) and issubclass(model, Section)):
            raise SettingsError(f"{name}: the channel's settings_model is not a core.settings.Section")
        if name in Settings.model_fields:
            raise SettingsError(f"{name}: a channel's section cannot take the name of a core setting")
        sections[name] = (model, Field(default_factory=model))
    cls: type[Settings] = create_model("Settings", __base__=Settings, __module__=__name__, **sections)
    cls.section_names = {model: name for name, (model, _) in sections.items()}
    return cls


def secret_keys() -> set[tuple[str, str]]:
    """(section, key) of every secret: a key typed `SecretStr`, in core's sections and the channels'."""
    keys = set()
    for name, field in settings_class().model_fields.items():
        section = field.annotation
        if isinstance(section, type) and issubclass(section, BaseModel):
            keys |= {
                (name, key)
                for key, inner in section.model_fields.items()
                if inner.annotation is SecretStr or SecretStr in get_args(inner.annotation)
            }
    return keys


def load_settings(config: Path | None = None) -> Settings:
    """Read the TOML file (explicit, or `config/supporthub.toml` when present) and the environment."""
    path = config if config is not None else (DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None)
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SettingsError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config file {path} is not valid TOML: {exc}") from None
    for name, reason in missing_channels().items():
        if name in data:
            raise SettingsError(f"[{name}]: the {name} channel cannot load: {reason}")
        if any(variable.startswith(f"SUPPORTHUB_{name.upper()}__") for variable in os.environ):
            log.warning("%s: its settings are set in the environment, but %s", name, reason)
    for section, key in secret_keys():
        if key in data.get(section, {}):
            env = f"SUPPORTHUB_{section.upper()}__{key.upper()}"
            raise SettingsError(f"{section}.{key}: secrets are read only from the environment ({env})")
    try:
        return Settings(**data)
    except EnvironmentParseError as exc:  # a list or table given as non-JSON text
        raise SettingsError(f"{exc} (lists and tables in the environment are JSON, e.g. '[\"docs\"]')") from None
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"]) or "settings"
        raise SettingsError(f"{key}: {error['msg']}") from None
