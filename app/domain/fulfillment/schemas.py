"""Requests and responses of physical-card fulfillment (camelCase on the wire, as the rest of
the API), each response built by its one `from_…` classmethod."""

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    Field,
    StringConstraints,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
)
from pydantic_core import PydanticCustomError

from app.domain.fulfillment.countries import ISO_3166_ALPHA2
from app.lib.schema import ApiRequest, ApiResponse, with_example
from app.lib.types import E164_PATTERN, OBJECT_ID_PATTERN, UtcDatetime
from app.storage.models import FulfillmentOrder, ShippingConfig
from app.storage.states import (
    OrderStatus,
    PrinterEventOutcome,
    PrinterEventStatus,
    ShippingMethod,
    ShippingPolicy,
)


def _one_of(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """A state refused as the API always refused it: a `literal_error`, same message."""
    try:
        return handler(value)
    except ValidationError as exc:
        [error] = exc.errors(include_url=False)
        if error["type"] != "enum":
            raise
        raise PydanticCustomError(
            "literal_error", "Input should be {expected}", error.get("ctx")
        ) from None


# Marqeta's address fields: 50 chars max; blank is as good as missing, so it is refused.
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Policy = Annotated[ShippingPolicy, WrapValidator(_one_of)]
Method = Annotated[ShippingMethod, WrapValidator(_one_of)]
EventStatus = Annotated[PrinterEventStatus, WrapValidator(_one_of)]


class RecipientName(ApiRequest):
    first_name: Line
    middle_name: Line | None = None
    last_name: Line


class Address(ApiRequest):
    line1: Line
    line2: Line | None = None
    city: Line
    state: Line
    postal_code: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)
    ]
    country_code: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]

    @field_validator("country_code")
    @classmethod
    def iso_country(cls, value: str) -> str:
        if value not in ISO_3166_ALPHA2:
            raise ValueError("must be an ISO 3166-1 alpha-2 country code")
        return value


class Shipping(ApiRequest):
    recipient_name: RecipientName
    business_name: Line | None = None
    address: Address
    phone: Annotated[str, Field(pattern=E164_PATTERN)] | None = None
    method: Method
    expedited: bool = False
    care_of_line: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
        | None
    ) = None


class ShippingConfigCreate(ApiRequest):
    model_config = with_example(
        {
            "name": "Store 12 back office",
            "policy": "MANUAL",
            "shipping": {
                "recipientName": {"firstName": "Jane", "lastName": "Smith"},
                "businessName": "Acme Store #12",
                "address": {
                    "line1": "100 Main St.",
                    "line2": "Suite 99",
                    "city": "New York",
                    "state": "NY",
                    "postalCode": "10001",
                    "countryCode": "US",
                },
                "phone": "+14374570680",
                "method": "TWO_DAY",
                "expedited": False,
            },
        }
    )

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    policy: Policy
    shipping: Shipping
    return_address: Address | None = None


class ShippingConfigOut(ApiResponse):
    id: str
    name: str
    policy: ShippingPolicy
    shipping: dict[str, Any]
    return_address: dict[str, Any] | None
    created_at: UtcDatetime

    @classmethod
    def from_config(cls, config: ShippingConfig) -> "ShippingConfigOut":
        """The shipping block as it was given (camelCase, every field, nulls included)."""
        return_address = config.return_address
        return cls(
            id=str(config.id),
            name=config.name,
            policy=config.policy,
            shipping=config.shipping.model_dump(mode="json"),
            return_address=return_address.model_dump(mode="json") if return_address else None,
            created_at=config.created_at,
        )


class FulfillAccepted(ApiResponse):
    fulfillment_order_id: str
    card_count: int

    @classmethod
    def from_order(cls, order: FulfillmentOrder) -> "FulfillAccepted":
        return cls(fulfillment_order_id=str(order.id), card_count=order.card_count)


def _from_ms(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / 1000, UTC)


class BoxOut(ApiResponse):
    """A box of the order the printer reported on: its own status and tracking."""

    box_number: int
    status: str
    carrier: str | None
    tracking_number: str | None
    updated_at: UtcDatetime


class FulfillmentOrderOut(ApiResponse):
    id: str
    shipping_config_id: str
    trigger: ShippingPolicy
    status: OrderStatus
    card_count: int
    cutting: bool = Field(
        description="cards are still being claimed into the order (a big one, in short jobs)"
    )
    box_count: int = Field(description="boxes of at most BOX_SIZE cards (0 while cutting)")
    boxes: list[BoxOut] = Field(description="the boxes the printer reported on, by number")
    cards_by_status: dict[str, int]
    manifest_url: str | None
    carrier: str | None
    tracking_number: str | None
    submission: dict[str, Any] | None
    webhook: dict[str, Any] | None
    error: str | None
    resubmits: int
    created_at: UtcDatetime
    cutoff_at: UtcDatetime | None
    submitted_at: UtcDatetime | None
    shipped_at: UtcDatetime | None
    delivered_at: UtcDatetime | None
    cancelled_at: UtcDatetime | None

    @classmethod
    def from_order(
        cls, order: FulfillmentOrder, cards_by_status: dict[str, int], manifest_url: str | None
    ) -> "FulfillmentOrderOut":
        """`submission` and `webhook` show the keys stored, as stored (camelCase)."""
        submission, webhook = order.submission, order.webhook
        return cls(
            id=str(order.id),
            shipping_config_id=order.shipping_config_id,
            trigger=order.trigger,
            status=order.status,
            card_count=order.card_count,
            cutting=order.cutting,
            box_count=order.box_count,
            boxes=[
                BoxOut(
                    box_number=int(number),
                    status=box.status,
                    carrier=box.carrier,
                    tracking_number=box.tracking_number,
                    updated_at=datetime.fromtimestamp(box.updated_ms / 1000, UTC),
                )
                for number, box in sorted(order.boxes.items(), key=lambda item: int(item[0]))
            ],
            cards_by_status=cards_by_status,
            manifest_url=manifest_url,
            carrier=order.carrier,
            tracking_number=order.tracking_number,
            submission=submission.model_dump(mode="json", exclude_unset=True)
            if submission
            else None,
            webhook=webhook.model_dump(mode="json", exclude_unset=True) if webhook else None,
            error=order.error,
            resubmits=order.resubmits,
            created_at=order.created_at,
            cutoff_at=_from_ms(order.cutoff_ms),
            submitted_at=_from_ms(order.submitted_ms),
            shipped_at=_from_ms(order.shipped_ms),
            delivered_at=_from_ms(order.delivered_ms),
            cancelled_at=_from_ms(order.cancelled_ms),
        )


class PrinterEvent(ApiRequest):
    """What the printer POSTs to /v2/fulfillment/events (no `cardIds`: the whole order)."""

    model_config = with_example(
        {
            "eventId": "evt_20261124_0001",
            "orderId": "6743a1f0c2b8e41d9a0f3c21",
            "status": "SHIPPED",
            "carrier": "UPS",
            "trackingNumber": "1Z999AA10123456784",
        }
    )

    event_id: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    order_id: Annotated[str, Field(pattern=OBJECT_ID_PATTERN)]
    status: EventStatus
    carrier: Annotated[str, StringConstraints(min_length=1, max_length=50)] | None = None
    tracking_number: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    card_ids: (
        Annotated[
            list[Annotated[str, Field(pattern=OBJECT_ID_PATTERN)]],
            Field(min_length=1, max_length=10_000),
        ]
        | None
    ) = None
    box_number: int | None = Field(
        None, ge=1, description="the event is about this box of the order (its own tracking)"
    )


class PrinterEventResult(ApiResponse):
    event_id: str
    status: PrinterEventOutcome
    order_status: OrderStatus | None = None
    updated_cards: int = 0
    ignored_cards: int = 0
    reason: str | None = None

    @classmethod
    def from_outcome(
        cls,
        event: PrinterEvent,
        outcome: PrinterEventOutcome,
        order_status: OrderStatus | None = None,
        updated_cards: int = 0,
        ignored_cards: int = 0,
        reason: str | None = None,
    ) -> "PrinterEventResult":
        return cls(
            event_id=event.event_id,
            status=outcome,
            order_status=order_status,
            updated_cards=updated_cards,
            ignored_cards=ignored_cards,
            reason=reason,
        )
