"""Every setting of the service, read from the environment (and `.env`)."""

from functools import lru_cache
from typing import Literal

from limits import parse as parse_rate_limit
from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    public_base_url: str = ""  # how clients reach the API; defaults to http://api_host:api_port
    log_level: str = "INFO"
    # each worker serves its Prometheus metrics and /health here (0: not at all)
    worker_metrics_port: int = Field(default=9100, ge=0, le=65535)

    mongodb_url: str = "mongodb://127.0.0.1:27017"
    mongodb_db: str = "giftcards"
    mongodb_timeout_ms: int = 3000

    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_timeout_seconds: float = 3.0
    queue_name: str = "arq:queue"  # API and workers of one deployment share it

    s3_endpoint_url: str = "http://127.0.0.1:8333"
    # where clients fetch presigned links, when it differs (e.g. http://s3:8333 inside compose)
    s3_public_endpoint_url: str = ""
    s3_region: str = "us-east-1"
    s3_bucket: str = "giftcard-exports"
    s3_access_key: str = "dev-access-key"
    s3_secret_key: str = "dev-secret-key-change-me"
    csv_link_ttl_seconds: int = 3600

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_from: str = "giftcards@example.com"
    smtp_timeout_seconds: float = 10.0
    sms_provider: str = "log"  # "log" or "webhook"
    sms_webhook_url: str = ""

    jwt_secret: str = "dev-jwt-secret-change-me-at-least-32-bytes"
    jwt_ttl_seconds: int = 3600
    card_hash_key: str = "dev-card-hash-key-change-me"
    card_encryption_key: str = Field(
        default="ZGV2LWNhcmQtZW5jcnlwdGlvbi1rZXktMzJieXRlcyE=",
        description="base64 of 32 random bytes (AES-256-GCM)",
    )
    default_card_prefix: str = "627100"
    card_number_length: int = 19

    demo_api_key: str = "demo_key_change_me"

    sync_threshold_default: int = 50
    # the most cards one bulk request may ask for (MAX_COUNT: its name before 2026-11-24)
    max_cards_per_request: int = Field(
        default=10_000_000,
        ge=1,
        validation_alias=AliasChoices("MAX_CARDS_PER_REQUEST", "MAX_COUNT"),
    )
    max_recipients: int = 10_000
    max_body_bytes: int = 16 * 1024 * 1024
    idempotency_ttl_seconds: int = 86_400  # the fast record in Redis (a replayable response)
    # how long a bulk request's key is honoured: its durable claim in MongoDB names the batch,
    # which answers a replay (card numbers from the vault) after the Redis record expired
    idempotency_days: int = 90
    # CSVs of card numbers (and a lane's spooled rows) are deleted this long after they were
    # written, by a lifecycle rule on the bucket set at start-up (0: no rule)
    export_retention_days: int = 30
    idempotency_lock_seconds: int = 300

    batch_chunk_size: int = 5_000
    # A queued batch of several CSV parts is spread over up to this many workers at once
    # (its main chain and helpers), so one merchant's million cards leave workers to others.
    batch_max_workers: int = Field(default=4, ge=1)
    # S3 refuses multipart parts under 5 MiB (but the last): a row is at least 82 bytes.
    csv_part_rows: int = Field(default=80_000, ge=64_000)
    # arq's lock on a running job is the longest job timeout + 10 s: that is the recovery
    # delay after a worker dies, so every job stays short (one chunk, one CSV part).
    job_timeout_seconds: int = 30
    job_max_tries: int = 10
    job_retry_max_delay_seconds: int = 30
    stale_task_seconds: int = 60
    sweep_interval_seconds: int = 10
    max_recoveries: int = 5
    # A worker refreshes its health key (`arq workers.settings.WorkerSettings --check`) this
    # often; the key expires a second later, so a hung or killed worker turns unhealthy.
    worker_health_check_seconds: int = Field(default=10, ge=1)
    # Deactivate / activate of a queued-size batch: cards per update_many (a bounded seq range;
    # on nx-27017 ~10,000 cards/s, so one update stays well under a second).
    status_change_chunk_size: int = Field(default=2_000, ge=1)

    # Webhooks and callbacks (the outbox): exponential backoff from BASE, each wait capped at
    # MAX_DELAY and jittered, until SPAN after the event; then the delivery is `failed`.
    webhook_retry_base_seconds: float = 30.0
    webhook_retry_max_delay_seconds: float = 6 * 3600.0
    webhook_retry_span_seconds: float = 3 * 86_400.0
    webhook_timeout_seconds: float = 10.0
    # an outbox row written before its change waits this long for it (a crash in between:
    # the cron sends the row once this has passed, if the change was made)
    webhook_hold_seconds: float = 60.0
    webhook_secret_grace_seconds: int = 86_400  # a rotated secret still signs this long
    # Recipient notifications: the same schedule, measured in hours, kept on the card; the
    # sweep (every SWEEP_INTERVAL_SECONDS) queues the tries that are due.
    notification_retry_base_seconds: float = 60.0
    notification_retry_max_delay_seconds: float = 3600.0
    notification_retry_span_seconds: float = 24 * 3600.0
    # Outgoing URLs (callbacks, printer, SMS gateway) to loopback or private addresses are
    # refused unless this is set (development, tests); link-local/metadata ones always are.
    allow_private_urls: bool = False

    # Physical cards: AUTO configurations are fulfilled daily at this wall-clock time ("HH:MM",
    # or "HH:MM:SS") in this zone; the check runs every SWEEP_INTERVAL_SECONDS and at start-up.
    fulfillment_cutoff: str = Field(default="21:30", pattern=r"^\d{2}:\d{2}(:\d{2})?$")
    fulfillment_timezone: str = "America/Los_Angeles"
    # a fulfillment order is packed in boxes of at most this many cards, each with its own
    # tracking (a large issuer ships 2,000 cards a box)
    box_size: int = Field(default=2_000, ge=1)
    # how long a fulfill request (or the AUTO cut-off's job) claims boxes before the order's
    # own jobs go on with the rest (it claims one box at least)
    cut_request_seconds: float = Field(default=5.0, ge=0)
    printer_provider: Literal["file", "http"] = "file"
    printer_url: str = ""  # the http provider POSTs its signed notice here
    # The shipping methods the http printer accepts, comma-separated (e.g.
    # "USPS_REGULAR,FEDEX_EXPEDITED" for Marqeta's Perfect Plastic Printing); empty: every one.
    # The file provider accepts every method.
    printer_shipping_methods: str = Field(default="", pattern=r"^[A-Z0-9_, ]*$")
    printer_secret: str = "dev-printer-secret-change-me"  # signs what we POST to the printer
    vendor_secret: str = "dev-vendor-secret-change-me"  # verifies the printer's events
    printer_max_tries: int = 8
    manifest_link_ttl_seconds: int = 3600

    # Rate limits, counted in Redis (app/lib/rate_limits.py): every authenticated request per
    # merchant (a merchant's own limit, set with the CLI, replaces the default), and
    # POST /v2/token per client address. Notation of the `limits` package: "600/minute".
    rate_limits_enabled: bool = True
    rate_limit_per_merchant: str = "600/minute"
    rate_limit_token_per_address: str = "30/minute"

    @field_validator("rate_limit_per_merchant", "rate_limit_token_per_address")
    @classmethod
    def _rate_limit_notation(cls, value: str) -> str:
        parse_rate_limit(value)  # ValueError for anything but "N/unit"
        return value

    @property
    def base_url(self) -> str:
        return self.public_base_url or f"http://{self.api_host}:{self.api_port}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
