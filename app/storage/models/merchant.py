from datetime import UTC, datetime

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, IndexModel


class Merchant(Document):
    name: str
    api_key_hash: str  # SHA-256 of the key: keys are random, so a fast hash is enough
    webhook_secret_enc: bytes | None = None  # AES-GCM; signs callbacks to the merchant
    # after a rotation, the secret before it also signs until `previous_secret_expires_at`
    previous_webhook_secret_enc: bytes | None = None
    previous_secret_expires_at: datetime | None = None
    secret_rotations: int = 0  # a rotation is conditional on it (nx-27017 can't match bytes)
    rate_limit: str | None = None  # e.g. "1200/minute"; None: RATE_LIMIT_PER_MERCHANT
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    class Settings:
        name = "merchants"
        indexes = [IndexModel([("api_key_hash", ASCENDING)], unique=True)]
