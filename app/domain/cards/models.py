from datetime import datetime
from typing import Any

from beanie import Document
from pymongo import ASCENDING, IndexModel


class Card(Document):
    """A gift card. Bulk paths write these as raw dicts (see issuance.generation) for speed;
    the model names the fields and owns the indexes.

    `(program_id, bulk_issuance_id, seq)` is unique so a re-run of a chunk inserts only what is
    missing (its prefix also serves listing a program's cards: one index fewer to write);
    `number_hash` (HMAC of the number) is unique so no number is ever issued twice.
    """

    merchant_id: str
    program_id: str
    bulk_issuance_id: str
    seq: int
    number_hash: str
    number_enc: bytes
    last_four: str
    initial_value: int
    balance: int
    currency: str
    status: str = "active"
    is_physical: bool = False
    design_template: str | None = None
    expires_at: datetime
    recipient: dict[str, Any] | None = None
    notification: dict[str, Any] | None = None
    shipping_config_id: str | None = None  # physical cards only
    personalization: dict[str, Any] | None = None
    # physical cards: status, order_id, carrier, tracking_number, updated_ms; digital: None
    fulfillment: dict[str, Any] | None = None
    created_at: datetime

    class Settings:
        name = "cards"
        indexes = [
            IndexModel(
                [("program_id", ASCENDING), ("bulk_issuance_id", ASCENDING), ("seq", ASCENDING)],
                unique=True,
            ),
            IndexModel([("number_hash", ASCENDING)], unique=True),
            # fulfillment claims and reads a configuration's cards (digital cards: null)
            IndexModel([("shipping_config_id", ASCENDING)]),
        ]
