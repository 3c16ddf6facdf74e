"""A gift card. Bulk paths write cards as plain documents for speed (see the cards
repository); this model names the fields and owns the indexes."""

from datetime import datetime
from typing import Annotated, Any

from beanie import Document
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pymongo import ASCENDING, IndexModel

from app.storage.models.base import CamelEmbedded, Embedded
from app.storage.models.parts import Personalization, Recipient, Shipping
from app.storage.states import (
    CardFulfillmentStatus,
    CardStatus,
    NotificationChannel,
    NotificationStatus,
)


class CardNotification(CamelEmbedded):
    """The recipient's notification: pending → sending → sent (or failed).

    Its schedule is here, not in the queue: `next_attempt_ms` is when a pending try is due
    (while `sending`: when that try counts as dead), and tries go on until the span after
    `round_started_ms` (the card's creation, or its last resend). Times are epoch ms: they are
    `$set` and compared, which nx-27017 only does right for numbers."""

    channel: NotificationChannel  # the first of `channels`
    status: NotificationStatus
    # every channel it goes out on (older cards: none, meaning `channel` alone), and those
    # already sent in this round: a retry sends only the rest
    channels: list[NotificationChannel] = []
    sent_channels: list[NotificationChannel] = []
    attempts: int = 0
    last_error: str | None = None
    sent_at: datetime | None = None  # nx-27017 returns a $set datetime as a string: both parse
    next_attempt_ms: int | None = None
    round_started_ms: int | None = None


class CardFulfillment(Embedded):
    """A physical card's way to its store. `moves` maps a status to the number of the order's
    change that moved the card there, so a webhook lists exactly the cards of its change;
    `released` maps a cancelled order's id to the change that put the card back to CREATED."""

    status: CardFulfillmentStatus
    order_id: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    box: int | None = None  # the box of its order it is packed in (set by the cut)
    updated_ms: int
    moves: dict[str, int] = {}
    released: dict[str, int] = {}


class Card(Document):
    """`(program_id, bulk_issuance_id, seq)` is unique so a re-run of a chunk inserts only what
    is missing (its prefix also serves listing a program's cards: one index fewer to write);
    `number_hash` (HMAC of the number) is unique so no number is ever issued twice."""

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
    status: CardStatus = CardStatus.ACTIVE
    is_physical: bool = False
    design_template: str | None = None
    expires_at: datetime
    activates_at: datetime | None = None  # a scheduled card's (its batch's activatesAt)
    recipient: Recipient | None = None
    notification: CardNotification | None = None
    shipping_config_id: str | None = None  # physical cards only
    personalization: Personalization | None = None
    fulfillment: CardFulfillment | None = None  # physical cards; digital: None
    # its own parcel (individual fulfillment); absent on cards shipped with their configuration
    shipping: Shipping | None = None
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


def _str_id(value: Any) -> str:
    return str(value)


class CardView(BaseModel):
    """A card as read for display: every field but the secret ones."""

    model_config = ConfigDict(extra="ignore")

    id: Annotated[str, BeforeValidator(_str_id)] = Field(alias="_id")
    program_id: str
    bulk_issuance_id: str
    last_four: str
    initial_value: int
    balance: int
    currency: str
    status: CardStatus
    is_physical: bool
    design_template: str | None = None
    expires_at: datetime
    activates_at: datetime | None = None  # a scheduled card's (its batch's activatesAt)
    recipient: Recipient | None = None
    notification: CardNotification | None = None
    shipping_config_id: str | None = None
    personalization: Personalization | None = None
    fulfillment: CardFulfillment | None = None
    shipping: Shipping | None = None
    created_at: datetime
