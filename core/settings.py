"""One settings object, loaded once: a TOML file plus `SUPPORTHUB_<SECTION>__<KEY>` variables.

Environment variables win over the file. Secrets are read only from the environment.
"""

from __future__ import annotations

import re
import tomllib
from ipaddress import ip_network
from pathlib import Path
from typing import Any, Literal

from apscheduler.triggers.cron import CronTrigger
from limits import parse_many
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings import SettingsError as EnvironmentParseError

from knowledge.settings import KnowledgeSettings

DEFAULT_CONFIG = Path("config/supporthub.toml")
SECRET_KEYS = {("api", "token"), ("web", "session_secret"), ("web", "identity_secret"), ("llm", "api_key"),
               ("slack", "bot_token"), ("slack", "signing_secret"), ("slack", "app_token"),
               ("telegram", "bot_token"), ("telegram", "webhook_secret"), ("sms", "auth_token"),
               ("sms", "webhook_signing_key"),
               ("email", "smtp_password"), ("email", "imap_password"), ("admin", "token")}


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LogSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["auto", "json", "text"] = Field(
        "auto", description="json: one JSON object per line; text: for people; auto: text on a terminal, else json")


class AdminSettings(Section):
    token: SecretStr | None = Field(None, description="Bearer token for /metrics (and the operators' pages)")


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    body_timeout_s: float = Field(60.0, gt=0, description="a request whose body has not arrived by then gets 408")
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="addresses or networks of your reverse proxies (\"10.0.0.0/8\", \"127.0.0.1\"): a request "
                    "from one of them counts the client address its X-Forwarded-For names",
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


class AnswerSettings(Section):
    top_k: int = Field(5, ge=1, le=50)
    min_match: float = Field(0.55, ge=-1.0, le=1.0)
    max_sentences: int = Field(3, ge=1, le=10)


class ApiSettings(Section):
    token: SecretStr | None = None
    public: bool = Field(False, description="serve the API without a token on a non-loopback address, on purpose")
    max_text_length: int = Field(4000, ge=1, le=100_000)


class WebSettings(Section):
    session_secret: SecretStr | None = None
    identity_secret: SecretStr | None = None
    """Shared with the embedding site, which signs a visitor's email with it (HMAC-SHA256)."""
    title: str = "Help"
    history_limit: int = Field(200, ge=1, le=5000)
    session_days: int = Field(30, ge=1, le=3650, description="a visitor's session ends after this long away")
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="sites (https://www.example.com) whose pages may open the widget; empty = any site",
    )

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, values: list[str]) -> list[str]:
        origins = []
        for value in values:
            origin = value.strip().rstrip("/").lower()
            scheme, _, host = origin.partition("://")
            if scheme not in ("http", "https") or not host or "/" in host:
                raise ValueError(f"{value!r} is not an origin like 'https://www.example.com'")
            origins.append(origin)
        return origins


class LimitsSettings(Section):
    """Messages one sender may send, in the `limits` notation ("30/minute", "5/second;100/hour");
    "" turns a limit off. Behind a reverse proxy set `server.trusted_proxies`, so that the
    limits per IP count each visitor's own address rather than the proxy's."""

    per_contact: str = "30/minute"
    per_ip: str = "300/minute"
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
    max_attempts: int = Field(8, ge=1, le=100)
    backoff_base_s: float = Field(1.0, gt=0)
    backoff_max_s: float = Field(300.0, gt=0)
    poll_interval_s: float = Field(1.0, gt=0)


class LlmSettings(Section):
    """An OpenAI-compatible chat model; off (the offline responder answers) unless `base_url`
    or the API key is set."""

    base_url: str = Field("", description="e.g. http://127.0.0.1:11434/v1 for Ollama; empty = api.openai.com")
    model: str = "gpt-4o-mini"
    api_key: SecretStr | None = None
    temperature: float = Field(0.2, ge=0.0, le=2.0)
    max_tokens: int = Field(600, ge=16, le=32_000)
    timeout_s: float = Field(30.0, gt=0)
    max_retries: int = Field(2, ge=0, le=10)
    max_tool_rounds: int = Field(4, ge=1, le=10)

    @property
    def enabled(self) -> bool:
        return bool(self.base_url) or self.api_key is not None


class MemorySettings(Section):
    context_tokens: int = Field(1500, ge=100, le=100_000, description="budget for recent turns in a prompt")
    summarize_after: int = Field(20, ge=4, le=1000, description="messages before older turns are summarized")
    retention_days: int = Field(0, ge=0, description="delete conversations idle this long; 0 = keep")


class AttachmentSettings(Section):
    max_bytes: int = Field(10 * 1024 * 1024, ge=1)
    allowed_types: list[str] = [".pdf", ".docx", ".xlsx", ".pptx", ".txt", ".md", ".csv", ".json", ".html", ".htm"]
    max_pages: int = Field(50, ge=1, description="pages of a PDF, slides of a deck, sheets of a workbook")
    timeout_s: float = Field(20.0, gt=0)
    max_chars: int = Field(20_000, ge=100, description="extracted text kept per file")
    max_files: int = Field(5, ge=1, le=50, description="files per message")
    max_unpacked_bytes: int = Field(50 * 1024 * 1024, ge=1024 * 1024,
                                    description="what a docx, xlsx or pptx may unpack to before it is converted")
    worker_memory_mb: int = Field(1536, ge=768, description="address-space cap of the converter process")
    workers: int = Field(2, ge=1, le=16, description="converter processes; one customer's files use all but one "
                                                     "of them at most, so another customer's file finds one free")
    message_timeout_s: float = Field(40.0, gt=0, description="what the files of one message may take to read in all, "
                                                            "waiting their turn included; the rest are named as not read")


class SentimentSettings(Section):
    frustration_phrases: list[str] = [
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
    ]


class HandoffSettings(Section):
    frustration_threshold: float = Field(0.7, ge=0.0, le=1.0, description="one message this frustrated escalates")
    frustrated_level: float = Field(0.4, ge=0.0, le=1.0, description="a message counts as frustrated from here")
    frustrated_in_row: int = Field(3, ge=1, description="this many frustrated customer messages in a row escalate")
    unanswered_in_row: int = Field(2, ge=1, description="this many questions in a row the bot could not answer escalate")
    keywords: list[str] = ["legal", "lawyer", "lawsuit", "chargeback", "gdpr", "data breach"]
    sla_minutes: int = Field(30, ge=1)
    sla_check_s: float = Field(60.0, ge=1, description="how often the leader looks for cases past the SLA")


class SlackSettings(Section):
    """Slack as a customer channel and as the staff desk; on when `bot_token` is set."""

    bot_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    app_token: SecretStr | None = None
    """Socket Mode's app-level token (xapp-…)."""
    api_url: str = Field("https://slack.com/api/", description="Web API base URL (tests point it at a fake)")
    staff_channel: str = Field("", description="channel id where cases are posted")
    workspace_url: str = Field("", description="e.g. https://acme.slack.com — lets /admin link to a case's thread")
    customer_channels: list[str] = Field(default_factory=list, description="channel ids where customers may ask")
    socket_mode: bool = False
    note_prefix: str = Field("note:", min_length=1)

    @model_validator(mode="after")
    def _complete(self) -> SlackSettings:
        if self.bot_token is not None and not self.socket_mode and self.signing_secret is None:
            raise ValueError("set SUPPORTHUB_SLACK__SIGNING_SECRET (events are verified with it)")
        if self.socket_mode and self.app_token is None:
            raise ValueError("socket_mode needs SUPPORTHUB_SLACK__APP_TOKEN (xapp-…)")
        return self


class TelegramSettings(Section):
    """Telegram as a customer channel; on when `bot_token` is set. With `public_url` updates
    arrive on `POST /telegram/webhook`, otherwise the hub long-polls `getUpdates`."""

    bot_token: SecretStr | None = None
    api_url: str = Field("https://api.telegram.org", description="Bot API base URL (tests and local Bot API servers)")
    public_url: str = Field("", description="the hub's public base URL; set = webhook mode, empty = long polling")
    webhook_secret: SecretStr | None = None
    """Telegram sends it in X-Telegram-Bot-Api-Secret-Token with every update (1–256 of A–Z a–z 0–9 _ -)."""
    welcome: str = "Hi! Ask me anything about our product and I'll answer from our help centre. Send /human to reach a person."
    group_mode: Literal["mention", "all"] = Field(
        "mention", description="in groups: answer only when mentioned, replied to or commanded; or every message"
    )
    poll_timeout_s: int = Field(30, ge=1, le=50, description="how long one getUpdates call waits for news (seconds)")

    @field_validator("api_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @field_validator("public_url")
    @classmethod
    def _https_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith("https://"):
            raise ValueError(f"{value!r}: Telegram sends webhooks only to https:// URLs (ports 443, 80, 88 or 8443)")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError("must be 1–256 characters of A–Z, a–z, 0–9, _ and - (Telegram's rule for secret_token)")
        return value

    @model_validator(mode="after")
    def _complete(self) -> TelegramSettings:
        if self.bot_token is not None and self.public_url and self.webhook_secret is None:
            raise ValueError("webhook mode (public_url is set) needs SUPPORTHUB_TELEGRAM__WEBHOOK_SECRET")
        return self


class SmsSettings(Section):
    """SMS through Twilio; on when the account, its auth token and a sender are set."""

    account_sid: str = ""
    auth_token: SecretStr | None = None
    webhook_signing_key: SecretStr | None = None
    """The secret of a Twilio Webhooks SharedKey, for webhooks Twilio signs with HMAC-SHA256
    (X-Twilio-Webhooks-Signature-Settings); the classic signature uses the auth token."""
    from_number: str = Field("", description="the Twilio number replies come from, E.164 (+15551234567)")
    messaging_service_sid: str = Field("", description="or a Messaging Service (MG…) that picks the number")
    api_url: str = Field("https://api.twilio.com", description="REST API base URL (tests point it at a fake)")
    public_url: str = Field("", description="the hub's public base URL exactly as Twilio calls it")
    max_segments: int = Field(4, ge=1, le=10, description="SMS segments one reply may take (each is billed)")
    help_text: str = Field("Ask a question and we'll answer by text. Reply STOP to stop messages, START to resume.",
                           min_length=1, max_length=320)
    status_callbacks: bool = Field(True, description="ask Twilio to report each reply's delivery")

    @field_validator("api_url", "public_url")
    @classmethod
    def _base_url(cls, value: str, info: ValidationInfo) -> str:
        value = value.strip().rstrip("/")
        if (value or info.field_name == "api_url") and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @field_validator("from_number")
    @classmethod
    def _e164(cls, value: str) -> str:
        if value and not re.fullmatch(r"\+[1-9]\d{6,14}", value):
            raise ValueError(f"{value!r} is not an E.164 number like +15551234567")
        return value

    @property
    def enabled(self) -> bool:
        return bool(self.account_sid) and self.auth_token is not None and bool(self.from_number or self.messaging_service_sid)

    @model_validator(mode="after")
    def _complete(self) -> SmsSettings:
        if self.enabled and not self.public_url:
            raise ValueError("set sms.public_url (SUPPORTHUB_SMS__PUBLIC_URL): Twilio's signatures are checked against it")
        return self


class EmailSettings(Section):
    """Email as a customer channel; on when `address` is set. Mail comes in through the built-in
    SMTP listener (`listen_port`) and/or an IMAP mailbox (`imap_host`); replies go out through
    the relay at `smtp_host`."""

    address: str = Field("", description="the support address: replies come from it")
    display_name: str = "Support"
    domain: str = Field("", description="for our Message-IDs; default: the address's domain")
    smtp_host: str = ""
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str = ""
    smtp_password: SecretStr | None = None
    smtp_ca_file: str = Field("", description="PEM file of a private CA that signed the relay's certificate")
    listen_host: str = "127.0.0.1"
    listen_port: int | None = Field(None, ge=1, le=65535, description="set = the built-in SMTP listener is on")
    accept_addresses: list[str] = Field(default_factory=list, description="aliases besides `address`")
    tls_cert_file: str = Field("", description="STARTTLS certificate (PEM) for the listener")
    tls_key_file: str = ""
    max_message_bytes: int = Field(25 * 1024 * 1024, ge=1024)
    imap_host: str = ""
    imap_port: int = Field(993, ge=1, le=65535)
    imap_security: Literal["tls", "none"] = Field("tls", description="implicit TLS (port 993), or none")
    imap_username: str = ""
    imap_password: SecretStr | None = None
    imap_folder: str = "INBOX"
    imap_poll_interval_s: float = Field(60.0, gt=0)
    trust_authentication_results: bool = False
    max_replies_per_sender_per_hour: int = Field(10, ge=1)

    @field_validator("address", "accept_addresses")
    @classmethod
    def _addresses(cls, value: str | list[str]) -> str | list[str]:
        for address in [value] if isinstance(value, str) else value:
            if address and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address):
                raise ValueError(f"{address!r} is not an email address")
        return value.strip().lower() if isinstance(value, str) else [a.strip().lower() for a in value]

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    @property
    def mail_domain(self) -> str:
        return self.domain or self.address.rpartition("@")[2]

    @model_validator(mode="after")
    def _complete(self) -> EmailSettings:
        if self.enabled and not self.smtp_host:
            raise ValueError("set email.smtp_host: replies go out through an SMTP relay")
        if self.enabled and self.listen_port is None and not self.imap_host:
            raise ValueError("set email.listen_port (the built-in SMTP listener) or email.imap_host (a mailbox)")
        if bool(self.tls_cert_file) != bool(self.tls_key_file):
            raise ValueError("set both email.tls_cert_file and email.tls_key_file, or neither")
        return self


class ScheduleJob(Section):
    """A re-index job: exactly one of `cron` (crontab syntax) or `interval_minutes`."""

    name: str = Field(min_length=1)
    cron: str | None = None
    interval_minutes: float | None = Field(None, gt=0)

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
    model_config = SettingsConfigDict(
        env_prefix="SUPPORTHUB_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    data_dir: Path = Path("data")
    database_url: str = ""
    redis_url: str = Field("", description="redis://host:6379/0 — shared rate-limit counts for several processes")
    channels: list[str] = ["web", "api"]
    log: LogSettings = LogSettings()
    admin: AdminSettings = AdminSettings()
    server: ServerSettings = ServerSettings()
    knowledge: KnowledgeSettings = KnowledgeSettings()
    answer: AnswerSettings = AnswerSettings()
    api: ApiSettings = ApiSettings()
    web: WebSettings = WebSettings()
    limits: LimitsSettings = LimitsSettings()
    outbox: OutboxSettings = OutboxSettings()
    llm: LlmSettings = LlmSettings()
    memory: MemorySettings = MemorySettings()
    attachments: AttachmentSettings = AttachmentSettings()
    sentiment: SentimentSettings = SentimentSettings()
    handoff: HandoffSettings = HandoffSettings()
    slack: SlackSettings = SlackSettings()
    telegram: TelegramSettings = TelegramSettings()
    sms: SmsSettings = SmsSettings()
    email: EmailSettings = EmailSettings()
    schedule: list[ScheduleJob] = []

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file arrives as init kwargs; the environment overrides it.
        return (env_settings, init_settings)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{(self.data_dir / 'supporthub.db').resolve()}"


class SettingsError(Exception):
    """A bad setting; the message is one line that names the key."""


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
    for section, key in SECRET_KEYS:
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
