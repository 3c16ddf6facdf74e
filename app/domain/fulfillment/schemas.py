"""Requests and responses of physical-card fulfillment (camelCase, as the rest of the API)."""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from app.domain.fulfillment.countries import ISO_3166_ALPHA2
from app.domain.issuance.schemas import E164_PATTERN
from app.lib.types import UtcDatetime
from app.urls import OBJECT_ID_PATTERN

# Marqeta's address fields: 50 chars max; blank is as good as missing, so it is refused.
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Policy = Literal["AUTO", "MANUAL"]
ShippingMethod = Literal["STANDARD", "TWO_DAY", "OVERNIGHT", "INTERNATIONAL"]
OrderStatus = Literal["PENDING", "SUBMITTED", "SHIPPED", "DELIVERED", "FAILED"]
CardFulfillmentStatus = Literal[
    "CREATED", "ORDERED", "SHIPPED", "DELIVERED", "REJECTED", "RETURNED"
]
EventStatus = Literal["SHIPPED", "DELIVERED", "REJECTED", "RETURNED"]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecipientName(_Request):
    firstName: Line
    middleName: Line | None = None
    lastName: Line


class Address(_Request):
    line1: Line
    line2: Line | None = None
    city: Line
    state: Line
    postalCode: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)
    ]
    countryCode: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]

    @field_validator("countryCode")
    @classmethod
    def iso_country(cls, value: str) -> str:
        if value not in ISO_3166_ALPHA2:
            raise ValueError("must be an ISO 3166-1 alpha-2 country code")
        return value


class Shipping(_Request):
    recipientName: RecipientName
    businessName: Line | None = None
    address: Address
    phone: Annotated[str, Field(pattern=E164_PATTERN)] | None = None
    method: ShippingMethod
    expedited: bool = False
    careOfLine: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
        | None
    ) = None


class ShippingConfigCreate(_Request):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    policy: Policy
    shipping: Shipping
    returnAddress: Address | None = None


class ShippingConfigOut(BaseModel):
    id: str
    name: str
    policy: Policy
    shipping: dict[str, Any]
    returnAddress: dict[str, Any] | None
    createdAt: UtcDatetime


class FulfillAccepted(BaseModel):
    fulfillmentOrderId: str
    cardCount: int


class FulfillmentOrderOut(BaseModel):
    id: str
    shippingConfigId: str
    trigger: str
    status: OrderStatus
    cardCount: int
    cardsByStatus: dict[str, int]
    manifestUrl: str | None
    carrier: str | None
    trackingNumber: str | None
    submission: dict[str, Any] | None
    webhook: dict[str, Any] | None
    error: str | None
    createdAt: UtcDatetime
    cutoffAt: UtcDatetime | None
    submittedAt: UtcDatetime | None
    shippedAt: UtcDatetime | None
    deliveredAt: UtcDatetime | None


class PrinterEvent(_Request):
    """What the printer POSTs to /v2/fulfillment/events (no `cardIds`: the whole order)."""

    eventId: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    orderId: Annotated[str, Field(pattern=OBJECT_ID_PATTERN)]
    status: EventStatus
    carrier: Annotated[str, StringConstraints(min_length=1, max_length=50)] | None = None
    trackingNumber: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    cardIds: (
        Annotated[
            list[Annotated[str, Field(pattern=OBJECT_ID_PATTERN)]],
            Field(min_length=1, max_length=10_000),
        ]
        | None
    ) = None


class PrinterEventResult(BaseModel):
    eventId: str
    status: Literal["applied", "ignored", "duplicate"]
    orderStatus: OrderStatus | None = None
    updatedCards: int = 0
    ignoredCards: int = 0
    reason: str | None = None


def from_ms(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / 1000, UTC)
