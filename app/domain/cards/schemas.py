from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from app.lib.money import format_minor
from app.lib.types import UtcDatetime


class NotificationOut(BaseModel):
    channel: str
    status: str
    attempts: int
    lastError: str | None
    sentAt: UtcDatetime | None  # nx-27017 returns $set datetimes as strings: pydantic parses both


class FulfillmentOut(BaseModel):
    status: str
    orderId: str | None
    carrier: str | None
    trackingNumber: str | None
    updatedAt: UtcDatetime

    @classmethod
    def of(cls, raw: dict) -> "FulfillmentOut":
        return cls(
            status=raw["status"],
            orderId=raw.get("order_id"),
            carrier=raw.get("carrier"),
            trackingNumber=raw.get("tracking_number"),
            updatedAt=datetime.fromtimestamp(raw["updated_ms"] / 1000, UTC),
        )


class CardOut(BaseModel):
    """A card as the API shows it: never the full number."""

    id: str
    programId: str
    bulkIssuanceId: str
    lastFourDigits: str
    initialValue: str
    balance: str
    currency: str
    status: str
    isPhysical: bool
    designTemplate: str | None
    expiresAt: UtcDatetime
    recipient: dict[str, Any] | None
    notification: NotificationOut | None
    shippingConfigId: str | None = None
    personalization: dict[str, Any] | None = None
    fulfillment: FulfillmentOut | None = None  # physical cards only
    createdAt: UtcDatetime

    @classmethod
    def of(cls, doc: dict) -> "CardOut":
        note = doc.get("notification")
        return cls(
            id=str(doc["_id"]),
            programId=doc["program_id"],
            bulkIssuanceId=doc["bulk_issuance_id"],
            lastFourDigits=doc["last_four"],
            initialValue=format_minor(doc["initial_value"], doc["currency"]),
            balance=format_minor(doc["balance"], doc["currency"]),
            currency=doc["currency"],
            status=doc["status"],
            isPhysical=doc["is_physical"],
            designTemplate=doc.get("design_template"),
            expiresAt=doc["expires_at"],
            recipient=doc.get("recipient"),
            notification=NotificationOut(**note) if note else None,
            shippingConfigId=doc.get("shipping_config_id"),
            personalization=doc.get("personalization"),
            fulfillment=FulfillmentOut.of(doc["fulfillment"]) if doc.get("fulfillment") else None,
            createdAt=doc["created_at"],
        )
