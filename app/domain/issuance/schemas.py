"""The seed's BulkIssueGiftCardRequest and its responses, field for field."""

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from app.lib.money import to_decimal
from app.lib.settings import get_settings
from app.lib.types import UtcDatetime
from app.urls import OBJECT_ID_PATTERN

E164_PATTERN = r"^\+[1-9][0-9]{1,14}$"
_AMOUNT_STRING = re.compile(r"^(?!^[-+.]*$)[+-]?0*\d*\.?\d*$")  # the seed's pattern


def _amount(value: Any) -> Decimal:
    if isinstance(value, str) and not _AMOUNT_STRING.match(value.strip()):
        raise ValueError("must be a decimal number such as 25.00")
    if not isinstance(value, int | float | str | Decimal):
        raise ValueError("must be a number or a decimal string")
    return to_decimal(value)


Amount = Annotated[
    Decimal,
    BeforeValidator(_amount),
    Field(ge=Decimal("0.01"), le=Decimal("10000.00"), json_schema_extra={"example": "25.00"}),
]


class BulkIssueRecipient(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customerEmail: EmailStr | None = None
    customerPhone: Annotated[str, Field(pattern=E164_PATTERN)] | None = None
    customerName: Annotated[str, Field(max_length=255)] | None = None
    senderName: Annotated[str, Field(max_length=255)] | None = None
    customMessage: Annotated[str, Field(max_length=500)] | None = None


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]


class CardPersonalization(BaseModel):
    """What the printer puts on a physical card and its carrier (Marqeta's card_personalization).

    With `numericPostfix`, the n-th card of the batch gets ` n` appended to `nameLine1`,
    numbered per program without gaps across batches."""

    model_config = ConfigDict(extra="forbid")

    nameLine1: Text | None = None
    nameLine2: Text | None = None
    numericPostfix: bool = False
    carrierMessage: Annotated[str, Field(max_length=60)] | None = None
    cardImage: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    thermalColor: Annotated[str, Field(min_length=1, max_length=50)] | None = None


class BulkIssueGiftCardRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    initialValue: Amount
    isPhysical: bool = False
    designTemplate: Annotated[str, Field(max_length=100)] | None = None
    expiresAt: datetime | None = None
    count: Annotated[int, Field(ge=1)] | None = None
    recipients: list[BulkIssueRecipient] | None = None
    shippingConfigId: Annotated[str, Field(pattern=OBJECT_ID_PATTERN)] | None = None
    cardPersonalization: CardPersonalization | None = None

    @field_validator("expiresAt")
    @classmethod
    def in_the_future(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        if aware <= datetime.now(UTC):
            raise ValueError("must be in the future")
        return aware.astimezone(UTC)

    @field_validator("count")
    @classmethod
    def count_within_limit(cls, value: int | None) -> int | None:
        limit = get_settings().max_count
        if value is not None and value > limit:
            raise ValueError(f"must be at most {limit}")
        return value

    @field_validator("recipients")
    @classmethod
    def recipients_within_limit(cls, value: list | None) -> list | None:
        if value is None:
            return None
        limit = get_settings().max_recipients
        if not value:
            raise ValueError("must not be empty")
        if len(value) > limit:
            raise ValueError(f"must have at most {limit} recipients")
        return value

    @model_validator(mode="after")
    def exactly_one_mode(self) -> "BulkIssueGiftCardRequest":
        if (self.count is None) == (self.recipients is None):
            raise ValueError("exactly one of count or recipients is required")
        return self

    @property
    def mode(self) -> str:
        return "count" if self.count is not None else "recipients"

    @property
    def size(self) -> int:
        return self.count if self.count is not None else len(self.recipients or [])


class BulkIssuedCardSummary(BaseModel):
    id: str
    cardNumber: str
    lastFourDigits: str


class BulkIssuanceSyncResponse(BaseModel):
    bulkIssuanceId: str
    issuedCount: int
    cards: list[BulkIssuedCardSummary]
    csvDownloadUrl: str | None
    failedCount: int | None = 0


class BulkIssuanceAsyncResponse(BaseModel):
    taskId: str
    status: str = "pending"


class BulkIssuanceOut(BaseModel):
    id: str
    programId: str
    taskId: str | None
    mode: str
    status: str
    requestedCount: int
    issuedCount: int
    failedCount: int
    progress: float
    initialValue: str
    currency: str
    isPhysical: bool
    designTemplate: str | None
    expiresAt: UtcDatetime
    csvDownloadUrl: str | None
    error: str | None
    createdAt: UtcDatetime
    completedAt: UtcDatetime | None
    shippingConfigId: str | None = None
    cardPersonalization: dict[str, Any] | None = None
    nameLine1StartIndex: int | None = None  # the numeric postfix range (Marqeta's)
    nameLine1EndIndex: int | None = None
