from datetime import UTC, datetime

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, IndexModel


class ApiKey(Document):
    """One of a merchant's API keys. `slot` is "0" or "1" while the key is active and the key's
    own id once revoked: a unique (merchant_id, slot) index is what holds a merchant to two
    active keys, also under concurrent creates (no count-then-insert race)."""

    merchant_id: str
    key_hash: str  # SHA-256 of the key, as on Merchant.api_key_hash
    prefix: str  # the key's first characters ("" for a merchant's original key seen unused)
    slot: str
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    # epoch milliseconds: these are `$set` later, and nx-27017 would store a datetime as a string
    last_used_ms: int | None = None
    revoked_ms: int | None = None

    class Settings:
        name = "api_keys"
        indexes = [
            IndexModel([("key_hash", ASCENDING)], unique=True),
            IndexModel([("merchant_id", ASCENDING), ("slot", ASCENDING)], unique=True),
        ]
