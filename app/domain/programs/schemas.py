from typing import Annotated, Any

from pydantic import AfterValidator, AnyHttpUrl, Field, field_validator, model_validator

from app.lib.activation import ActivationOffset
from app.lib.expiration import MINIMUM_EXPIRY_DAYS_MAX, ExpirationOffset
from app.lib.money import CURRENCIES
from app.lib.phones import REGIONS
from app.lib.schema import ApiRequest, ApiResponse, with_example
from app.lib.types import OBJECT_ID_PATTERN, UtcDatetime
from app.storage.models import Program
from app.storage.states import NotificationChannel


def _known_region(value: str) -> str:
    if value not in REGIONS:
        raise ValueError("unknown ISO 3166 alpha-2 region for phone numbers")
    return value


def _distinct(value: list[NotificationChannel]) -> list[NotificationChannel]:
    if len(set(value)) != len(value):
        raise ValueError("each channel at most once")
    return value


Name = Annotated[str, Field(min_length=1, max_length=200)]
SyncThreshold = Annotated[int, Field(ge=1, le=1000)]
ShippingConfigId = Annotated[str, Field(pattern=OBJECT_ID_PATTERN)]
PhoneRegion = Annotated[
    str,
    Field(pattern=r"^[A-Z]{2}$", description="Where local phone numbers are read (ISO 3166)"),
    AfterValidator(_known_region),
]
Channels = Annotated[
    list[NotificationChannel],
    Field(
        min_length=1,
        max_length=2,
        description="The channels a recipient with both an email and a phone is notified on",
    ),
    AfterValidator(_distinct),
]


MinimumExpiryDays = Annotated[
    int,
    Field(
        ge=1,
        le=MINIMUM_EXPIRY_DAYS_MAX,
        description="The soonest its cards may expire, in days from issue (e.g. 1825: US "
        "consumer gift cards may not expire within five years, Regulation E). A bulk request "
        "that would expire sooner is a 422; the default expiry is the later of a year and this.",
    ),
]


class ProgramCreate(ApiRequest):
    model_config = with_example({"name": "Holiday 2026", "currency": "USD", "syncThreshold": 50})

    name: Name
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    sync_threshold: SyncThreshold | None = None
    card_number_prefix: Annotated[str, Field(pattern=r"^[0-9]{6}$")] | None = None
    callback_url: AnyHttpUrl | None = None
    default_shipping_config_id: ShippingConfigId | None = None
    phone_region: PhoneRegion = "US"
    notification_channels: Channels | None = None
    expiration_offset: ExpirationOffset | None = None
    minimum_expiry_days: MinimumExpiryDays | None = None
    activation_offset: ActivationOffset | None = Field(
        default=None,
        description="A batch without activatesAt: its cards are `scheduled` until this long "
        "after it is accepted (exact, no rounding). None: active at once.",
    )

    @field_validator("currency")
    @classmethod
    def known_currency(cls, value: str) -> str:
        if value not in CURRENCIES:
            raise ValueError("unsupported ISO 4217 currency code")
        return value


def _left_out() -> Any:
    """The default of a field that may be left out but is not nullable: /schema shows its
    type alone and a `null` is a 422 (mypy would refuse a None default on the field itself)."""
    return Field(default=None)


class ProgramUpdate(ApiRequest):
    """The fields to change, and only those: a field left out keeps its value; `null`
    clears `callbackUrl`, `defaultShippingConfigId`, `expirationOffset`, `minimumExpiryDays`
    and `activationOffset`."""

    model_config = with_example({"defaultShippingConfigId": "65f1c0ffee0000000000beef"})

    name: Name = _left_out()
    sync_threshold: SyncThreshold = _left_out()
    callback_url: AnyHttpUrl | None = None
    default_shipping_config_id: ShippingConfigId | None = None
    phone_region: PhoneRegion = _left_out()
    notification_channels: Channels = _left_out()
    expiration_offset: ExpirationOffset | None = None
    minimum_expiry_days: MinimumExpiryDays | None = None
    activation_offset: ActivationOffset | None = Field(
        default=None,
        description="A batch without activatesAt: its cards are `scheduled` until this long "
        "after it is accepted (exact, no rounding). None: active at once.",
    )

    @model_validator(mode="after")
    def changes_something(self) -> "ProgramUpdate":
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields given, by attribute name, as stored (JSON types)."""
        return self.model_dump(mode="json", by_alias=False, include=self.model_fields_set)


class ProgramOut(ApiResponse):
    id: str
    name: str
    currency: str
    sync_threshold: int
    card_number_prefix: str
    callback_url: str | None
    default_shipping_config_id: str | None = None
    phone_region: str = "US"
    notification_channels: list[NotificationChannel] = Field(
        default=list(NotificationChannel),
        description="The channels a recipient with both an email and a phone is notified on",
    )
    expiration_offset: ExpirationOffset | None = None
    minimum_expiry_days: int | None = None
    activation_offset: ActivationOffset | None = None
    created_at: UtcDatetime

    @classmethod
    def from_program(cls, program: Program) -> "ProgramOut":
        return cls(
            id=str(program.id),
            name=program.name,
            currency=program.currency,
            sync_threshold=program.sync_threshold,
            card_number_prefix=program.card_number_prefix,
            callback_url=program.callback_url,
            default_shipping_config_id=program.default_shipping_config_id,
            phone_region=program.phone_region,
            notification_channels=program.notification_channels or list(NotificationChannel),
            expiration_offset=program.expiration_offset,
            minimum_expiry_days=program.minimum_expiry_days,
            activation_offset=program.activation_offset,
            created_at=program.created_at,
        )
