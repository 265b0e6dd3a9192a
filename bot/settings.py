"""The one Settings object, read from the environment and `.env`; the only module that reads it."""

import ipaddress
import os
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_DIR = Path(__file__).resolve().parent.parent
ACTIONS_DIR = PROJECT_DIR / "actions"
MIN_WEBHOOK_SECRET = 32
# What Telegram accepts as a webhook's secret_token.
SECRET_CHARACTERS = re.compile(r"[A-Za-z0-9_-]{1,256}")


class Settings(BaseSettings):
    """Balie's configuration; the defaults run the embedded try-out."""

    model_config = SettingsConfigDict(
        env_file=".env", env_prefix="BALIE_", extra="ignore", populate_by_name=True,
        env_ignore_empty=True,
    )

    telegram_token: SecretStr | None = Field(default=None, validation_alias="TELEGRAM_TOKEN")
    telegram_base_url: str = Field(
        default="https://api.telegram.org/bot", validation_alias="TELEGRAM_BASE_URL"
    )
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")

    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443
    webhook_max_bytes: int = 1_000_000
    health_port: int | None = None
    health_listen: str = "127.0.0.1"
    health_token: SecretStr | None = None

    stream_maxlen: int = 1_000_000
    # Entries of the update and handoff event streams older than this are trimmed, handled or not.
    stream_max_age_seconds: int = 86_400
    worker_lanes: int = 32
    worker_claim_idle_ms: int = 2000
    drain_lock_ms: int = 3000
    outbox_ttl_seconds: int = 3600
    # The conversation log's queue in Redis is written to the database this often, and at once
    # when a turn's push finds this many turns (batches of rows) waiting.
    log_flush_seconds: float = Field(default=0.2, gt=0)
    log_flush_turns: int = Field(default=50, ge=1)

    staff_chat_id: int | None = None
    staff_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    handoff_reminder_seconds: int = 300
    handoff_minutes_per_citizen: float = 5.0
    # A waiting web chat whose page sent nothing for this long leaves the queue (abandoned).
    abandon_minutes: float = Field(default=5.0, gt=0)
    send_per_second: int = 30
    # Broadcasts take from the same budget, but only while fewer messages than this went out in
    # the current second: answers keep the rest.
    broadcast_per_second: int = 25

    action_endpoint: str | None = None
    actions_dir: Path = ACTIONS_DIR

    console_host: str = "127.0.0.1"
    console_port: int = 8080
    # Processes serving the web chat and console on that one port (the kernel shares out the
    # connections, SO_REUSEPORT): one process answers on one core.
    console_processes: int = Field(default=1, ge=1)
    console_secret: SecretStr | None = None
    password_time_cost: int = 3
    password_memory_kib: int = 65536
    password_concurrency: int = 2  # argon2 checks at once, each in a thread of its own
    login_failures_per_address: int = 10  # per lock-out time; then no password is checked
    session_idle_minutes: int = 30
    # Addresses (or networks) of reverse proxies whose X-Forwarded-For is believed.
    trusted_proxies: str = ""
    public_url: str | None = None
    chat_embed_origins: str = ""
    # Request bodies: the web chat's API (the page's longest text, 4,096 characters of up to
    # 3 bytes, fits), and console forms.
    chat_max_bytes: int = 16_384
    form_max_bytes: int = 65_536

    # The default tenant: the one of data from before tenants, and of work outside a chat.
    municipality: str = "voorbeeld"
    # The tenants served (keys of facts files, comma-separated); empty: every facts file.
    tenants: str = ""
    # The municipality the Telegram bot is for; empty: a collaboration's bot, which asks.
    telegram_tenant: str = ""
    intents_dir: Path = PROJECT_DIR / "intents"
    facts_dir: Path | None = None
    data_dir: Path = Path(".balie")
    cache_dir: Path | None = None

    state_ttl_days: int = 30
    # The conversation memory (topic, household size, dogs, WOZ value, role) forgets a value
    # this many text turns, or minutes, after it was set.
    memory_turns: int = 10
    memory_minutes: int = 30
    nlu_threshold: float = 0.3
    nlu_fallback_threshold: float = 0.15
    nlu_margin: float = 0.2
    max_message_chars: int = 4096
    flood_per_minute: int = 20

    metrics_dir: Path | None = Field(default=None, validation_alias="PROMETHEUS_MULTIPROC_DIR")

    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "json"

    @field_validator("staff_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        """Read `BALIE_STAFF_IDS=111,222` as a set of Telegram user ids."""
        if isinstance(value, str):
            return frozenset(int(part) for part in value.replace(" ", "").split(",") if part)
        return value

    def start_problem(self) -> str | None:
        """Say why `balie run` may not start with these settings; None when it may."""
        secret = self.webhook_secret.get_secret_value() if self.webhook_secret else ""
        if self.webhook_url and (len(secret) < MIN_WEBHOOK_SECRET
                                 or not SECRET_CHARACTERS.fullmatch(secret)):
            return (
                f"Webhook mode (BALIE_WEBHOOK_URL) needs BALIE_WEBHOOK_SECRET: at least "
                f"{MIN_WEBHOOK_SECRET} characters, only letters, digits, _ and -. Telegram sends "
                "it with every update; without it anyone can send Balie forged updates. Make "
                "one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'`, set "
                "it and start again."
            )
        return None

    @property
    def facts(self) -> Path:
        """Return the folder with the municipalities' facts files."""
        return self.facts_dir or self.intents_dir / "facts"

    @property
    def tenant_keys(self) -> tuple[str, ...]:
        """Return the keys of the tenants named in BALIE_TENANTS (none: every facts file)."""
        return tuple(key.strip() for key in self.tenants.split(",") if key.strip())

    @property
    def console_url(self) -> str:
        """Return where citizens and staff reach the web chat and console."""
        host = "127.0.0.1" if self.console_host in {"0.0.0.0", "::"} else self.console_host
        return (self.public_url or f"http://{host}:{self.console_port}").rstrip("/")

    @property
    def model_cache(self) -> Path:
        """Return where trained NLU models are cached."""
        return self.cache_dir or self.data_dir / "cache"

    @property
    def sqlalchemy_url(self) -> str:
        """Return the database URL with an async driver, SQLite in the data dir by default."""
        if not self.database_url:
            return f"sqlite+aiosqlite:///{self.data_dir / 'balie.db'}"
        url = self.database_url
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url.removeprefix(prefix)
        return url


def is_loopback(host: str) -> bool:
    """Tell whether a listen address is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def prepare_libraries(settings: Settings) -> None:
    """Set what libraries read from the environment themselves, before they read it.

    PTB gives durations such as RetryAfter.retry_after as timedeltas (it warns on every read
    otherwise); prometheus_client keeps every process's metrics in files in `metrics_dir`, so
    the intake's /metrics adds up those of its worker processes. It reads the variable when
    the metrics are defined, on import of `bot.ops.metrics`.
    """
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    if settings.metrics_dir is not None:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(settings.metrics_dir)


def child_environment(**changes: str) -> dict[str, str]:
    """Return the environment for a child `balie` process: this one's, with `changes`."""
    return {**os.environ, **changes}
