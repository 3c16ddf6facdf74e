from datetime import UTC, datetime

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, IndexModel


class Program(Document):
    merchant_id: str
    name: str
    currency: str
    sync_threshold: int
    card_number_prefix: str
    callback_url: str | None = None
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    class Settings:
        name = "programs"
        indexes = [IndexModel([("merchant_id", ASCENDING)])]
