"""The seed's BulkIssueGiftCardRequest and its responses, field for field."""

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    EmailStr,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from app.domain.fulfillment.schemas import Shipping
from app.domain.issuance import parts
from app.domain.issuance.fulfillment_summary import BatchFulfillmentOut
from app.lib.expiration import ExpirationOffset
from app.lib.money import format_minor, to_decimal
from app.lib.schema import ApiRequest, ApiResponse, with_example
from app.lib.settings import get_settings
from app.lib.types import OBJECT_ID_PATTERN, TOKEN_PATTERN, UtcDatetime, now_ms
from app.storage.models import BulkIssuance, Personalization, StatusChange
from app.storage.models.parts import DEFAULT_THERMAL_COLOR
from app.storage.states import CardStatus, IssuanceMode, TaskStatus

_AMOUNT_STRING = re.compile(r"^(?!^[-+.]*$)[+-]?0*\d*\.?\d*$")  # the seed's pattern


# /schema: a number or a decimal string (both are accepted), 0.01 to 10000.00
_AMOUNT_SCHEMA: dict[str, Any] = {
    "example": "25.00",
    "type": None,
    "minimum": None,
    "maximum": None,
    "oneOf": [
        {"type": "number", "minimum": 0.01, "maximum": 10000},
        {"type": "string", "pattern": r"^[0-9]{1,5}(\.[0-9]{1,2})?$"},
    ],
}


def _amount(value: Any) -> Decimal:
    if isinstance(value, str) and not _AMOUNT_STRING.match(value.strip()):
        raise ValueError("must be a decimal number such as 25.00")
    if not isinstance(value, int | float | str | Decimal):
        raise ValueError("must be a number or a decimal string")
    return to_decimal(value)


Amount = Annotated[
    Decimal,
    BeforeValidator(_amount),
    Field(ge=Decimal("0.01"), le=Decimal("10000.00"), json_schema_extra=_AMOUNT_SCHEMA),
]


class BulkIssueRecipient(ApiRequest):
    customer_email: EmailStr | None = None
    customer_phone: Annotated[str, Field(min_length=1, max_length=40)] | None = Field(
        default=None,
        description="E.164 (`+14155550100`) or as people type it (`(415) 555-0100`): read in "
        "the program's phoneRegion and stored in E.164; not a valid number → 422 at the field",
    )
    customer_name: Annotated[str, Field(max_length=255)] | None = None
    sender_name: Annotated[str, Field(max_length=255)] | None = None
    custom_message: Annotated[str, Field(max_length=500)] | None = None
    shipping: Shipping | None = Field(
        default=None,
        description="Individual fulfillment (physical batches only): this card ships on its "
        "own to this address, the shipping configuration's `shipping` object; without it the "
        "card ships with the configuration's parcel",
    )


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
ImageName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
MAX_CUSTOM_TEXT = 10
CustomText = Annotated[
    dict[Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,39}$")], Text],
    Field(min_length=1, max_length=MAX_CUSTOM_TEXT),
]


class CardPersonalization(ApiRequest):
    """What the printer puts on a physical card and its carrier (Marqeta's card_personalization).

    With `numericPostfix`, the n-th card of the batch gets ` n` appended to `nameLine1`,
    numbered per program without gaps across batches."""

    name_line1: Text | None = None
    name_line2: Text | None = None
    numeric_postfix: bool = False
    carrier_message: Annotated[str, Field(max_length=60)] | None = None
    card_image: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    thermal_color: Annotated[str, Field(min_length=1, max_length=50)] | None = Field(
        default=None,
        description="The card image's colour, one of the printer's; shown as "
        f"{DEFAULT_THERMAL_COLOR} when not given",
    )
    name_line3: Text | None = None
    custom_text: CustomText | None = Field(
        default=None,
        description="Marqeta's free-form text fields: at most "
        f"{MAX_CUSTOM_TEXT} values by field name, each as bounded as a name line",
        examples=[{"store_code": "NYC-12"}],
    )
    carrier_image: ImageName | None = Field(
        default=None, description="The image printed on the card carrier (its file name)"
    )
    carrier_return_window_image: ImageName | None = Field(
        default=None, description="The image in the envelope's return-address window"
    )


class BulkIssueGiftCardRequest(ApiRequest):
    model_config = with_example(
        {
            "initialValue": "25.00",
            "count": 60,
            "designTemplate": "holiday-snowflakes",
            "expiresAt": "2030-12-31T23:59:59Z",
        }
    )

    initial_value: Amount
    is_physical: bool = False
    design_template: Annotated[str, Field(max_length=100)] | None = None
    expires_at: datetime | None = None
    expiration_offset: ExpirationOffset | None = Field(
        default=None,
        description="Instead of expiresAt: the cards expire this long after the batch is "
        "accepted (Marqeta's rounding). Neither: the program's expirationOffset, else a year.",
    )
    activates_at: datetime | None = Field(
        default=None,
        description="The cards are `scheduled` (not usable) until then, and `active` from then "
        "on; before their expiry. Left out: the program's activationOffset, else at once.",
    )
    token: Annotated[str, Field(pattern=TOKEN_PATTERN, max_length=36)] | None = Field(
        default=None,
        description="Your own reference for the bulk issuance, unique per merchant (409 "
        "`token_in_use` when taken); usable wherever its id is.",
    )
    count: Annotated[int, Field(ge=1)] | None = None
    recipients: list[BulkIssueRecipient] | None = None
    shipping_config_id: Annotated[str, Field(pattern=OBJECT_ID_PATTERN)] | None = None
    card_personalization: CardPersonalization | None = None

    @field_validator("expires_at", "activates_at")
    @classmethod
    def in_the_future(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        if aware <= datetime.now(UTC):
            raise ValueError("must be in the future")
        return aware.astimezone(UTC)

    @field_validator("expiration_offset")
    @classmethod
    def not_with_expires_at(
        cls, value: ExpirationOffset | None, info: ValidationInfo
    ) -> ExpirationOffset | None:
        if value is not None and info.data.get("expires_at") is not None:
            raise ValueError("give either expiresAt or expirationOffset, not both")
        return value

    @field_validator("count")
    @classmethod
    def count_within_limit(cls, value: int | None) -> int | None:
        limit = get_settings().max_cards_per_request
        if value is not None and value > limit:
            raise ValueError(f"must be at most {limit}")
        return value

    @field_validator("recipients")
    @classmethod
    def recipients_within_limit(
        cls, value: list[BulkIssueRecipient] | None
    ) -> list[BulkIssueRecipient] | None:
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
    def mode(self) -> IssuanceMode:
        return IssuanceMode.COUNT if self.count is not None else IssuanceMode.RECIPIENTS

    @property
    def size(self) -> int:
        return self.count if self.count is not None else len(self.recipients or [])


class BulkIssuedCardSummary(ApiResponse):
    id: str
    card_number: str
    last_four_digits: str

    @classmethod
    def from_number(cls, card_id: str, number: str) -> "BulkIssuedCardSummary":
        return cls(id=card_id, card_number=number, last_four_digits=number[-4:])


class BulkIssuanceSyncResponse(ApiResponse):
    bulk_issuance_id: str
    issued_count: int
    cards: list[BulkIssuedCardSummary]
    csv_download_url: str | None
    failed_count: int | None = 0

    @classmethod
    def from_cards(
        cls, issuance: BulkIssuance, cards: list[BulkIssuedCardSummary], csv_url: str | None
    ) -> "BulkIssuanceSyncResponse":
        return cls(
            bulk_issuance_id=str(issuance.id),
            issued_count=len(cards),
            cards=cards,
            csv_download_url=csv_url,
            failed_count=0,
        )


class BulkIssuanceAsyncResponse(ApiResponse):
    task_id: str
    status: TaskStatus = TaskStatus.PENDING

    @classmethod
    def from_issuance(cls, issuance: BulkIssuance) -> "BulkIssuanceAsyncResponse":
        return cls(task_id=issuance.task_id, status=TaskStatus.PENDING)

    @classmethod
    def from_status_change(cls, change: StatusChange) -> "BulkIssuanceAsyncResponse":
        """A deactivate / activate: its task (the one running, when asked again)."""
        return cls(task_id=str(change.id), status=change.status)


def progress(issuance: BulkIssuance) -> float:
    if issuance.status == TaskStatus.COMPLETED:
        return 1.0
    return round(issued_count(issuance) / max(issuance.requested_count, 1), 4)


def issued_count(issuance: BulkIssuance) -> int:
    """The cards that exist. A failed batch counted them as it failed (`failed_count` are
    the missing ones): a chunk cut short can leave cards past its contiguous progress."""
    if issuance.failed_count:
        return issuance.requested_count - issuance.failed_count
    return parts.issued(issuance)


class BulkIssuanceOut(ApiResponse):
    id: str
    token: str | None = Field(default=None, description="The client's own reference")
    program_id: str
    task_id: str | None
    mode: IssuanceMode
    status: TaskStatus
    requested_count: int
    issued_count: int
    failed_count: int
    progress: float
    initial_value: str
    currency: str
    is_physical: bool
    design_template: str | None
    expires_at: UtcDatetime
    expiration_offset: ExpirationOffset | None = Field(
        default=None, description="What expiresAt was computed from (requested or the program's)"
    )
    csv_download_url: str | None
    error: str | None
    created_at: UtcDatetime
    completed_at: UtcDatetime | None
    shipping_config_id: str | None = None
    card_personalization: Personalization | None = None  # as requested
    name_line1_start_index: int | None = None  # the numeric postfix range (Marqeta's)
    name_line1_end_index: int | None = None
    card_status: CardStatus = Field(
        default=CardStatus.ACTIVE,
        description="What the latest deactivate / activate set its cards to (while its task "
        "runs: what they are being set to); `scheduled` until activatesAt",
    )
    activates_at: UtcDatetime | None = Field(
        default=None, description="When its cards became (or become) active, if scheduled"
    )
    status_change_task_id: str | None = Field(
        default=None, description="The task of the latest deactivate / activate"
    )
    fulfillment: BatchFulfillmentOut | None = Field(
        default=None,
        description="Physical batches: its cards per fulfillment status and the least "
        "advanced status of them (digital: null)",
    )

    @classmethod
    def from_issuance(cls, issuance: BulkIssuance, csv_url: str | None) -> "BulkIssuanceOut":
        return cls(
            id=str(issuance.id),
            token=issuance.token,
            program_id=issuance.program_id,
            task_id=issuance.task_id if issuance.is_async else None,
            mode=issuance.mode,
            status=issuance.status,
            requested_count=issuance.requested_count,
            issued_count=issued_count(issuance),
            failed_count=issuance.failed_count,
            progress=progress(issuance),
            initial_value=format_minor(issuance.initial_value, issuance.currency),
            currency=issuance.currency,
            is_physical=issuance.is_physical,
            design_template=issuance.design_template,
            expires_at=issuance.expires_at,
            expiration_offset=issuance.expiration_offset,
            csv_download_url=csv_url,
            error=issuance.error,
            created_at=issuance.created_at,
            completed_at=issuance.completed_at,
            shipping_config_id=issuance.shipping_config_id,
            card_personalization=issuance.personalization,
            name_line1_start_index=issuance.name_line1_start_index,
            name_line1_end_index=issuance.name_line1_end_index,
            card_status=_card_status(issuance),
            activates_at=issuance.activates_at,
            status_change_task_id=issuance.status_change_id,
            fulfillment=BatchFulfillmentOut.from_issuance(issuance, issued_count(issuance)),
        )


def _card_status(issuance: BulkIssuance) -> CardStatus:
    """`scheduled` reads `active` once its time has passed (the range update may lag)."""
    due = issuance.activates_ms is not None and issuance.activates_ms <= now_ms()
    return (
        CardStatus.ACTIVE
        if issuance.card_status == CardStatus.SCHEDULED and due
        else issuance.card_status
    )
