from datetime import UTC, datetime

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from app.lib.activation import ActivationOffset
from app.lib.expiration import ExpirationOffset
from app.storage.states import NotificationChannel


class Program(Document):
    merchant_id: str
    name: str
    currency: str
    sync_threshold: int
    card_number_prefix: str
    callback_url: str | None = None
    # issue 12: a physical batch without shippingConfigId uses this one
    default_shipping_config_id: str | None = None
    # the region local phone numbers are read in (ISO 3166 alpha-2)
    phone_region: str = "US"
    # the channels a recipient with both an email and a phone is notified on (None: all)
    notification_channels: list[NotificationChannel] | None = None
    # the cards' expiry when a batch gives neither expiresAt nor expirationOffset
    expiration_offset: ExpirationOffset | None = None
    # the soonest its cards may expire, in days from issue (e.g. 1,825: Regulation E)
    minimum_expiry_days: int | None = None
    # the cards' activation when a batch gives no activatesAt (None: at once)
    activation_offset: ActivationOffset | None = None
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    class Settings:
        name = "programs"
        indexes = [IndexModel([("merchant_id", ASCENDING)])]
