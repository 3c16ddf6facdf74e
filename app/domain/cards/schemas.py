from datetime import UTC, datetime
from typing import Any

from pydantic import Field

from app.lib.money import format_minor
from app.lib.schema import ApiResponse
from app.lib.types import UtcDatetime, as_utc, utcnow
from app.storage.models import (
    CardFulfillment,
    CardNotification,
    CardView,
    Personalization,
)
from app.storage.models.parts import DEFAULT_THERMAL_COLOR
from app.storage.states import (
    CardFulfillmentStatus,
    CardStatus,
    NotificationChannel,
    NotificationStatus,
)


class Recipient(ApiResponse):
    """A card's recipient; `shipping` as a shipping configuration shows its own (the stored
    object: one `Shipping` component in /schema, the request's)."""

    customer_email: str | None = None
    customer_phone: str | None = None
    customer_name: str | None = None
    sender_name: str | None = None
    custom_message: str | None = None
    shipping: dict[str, Any] | None = None


class NotificationOut(ApiResponse):
    channel: NotificationChannel
    channels: list[NotificationChannel] = []  # every channel it goes out on (the program's)
    status: NotificationStatus
    attempts: int
    last_error: str | None
    sent_at: UtcDatetime | None
    next_attempt_at: UtcDatetime | None = None  # pending: when the next try is due

    @classmethod
    def from_notification(cls, note: CardNotification) -> "NotificationOut":
        due = note.next_attempt_ms if note.status == NotificationStatus.PENDING else None
        return cls(
            channel=note.channel,
            channels=note.channels or [note.channel],
            status=note.status,
            attempts=note.attempts,
            last_error=note.last_error,
            sent_at=note.sent_at,
            next_attempt_at=None if due is None else datetime.fromtimestamp(due / 1000, UTC),
        )


class FulfillmentOut(ApiResponse):
    status: CardFulfillmentStatus
    order_id: str | None
    carrier: str | None
    tracking_number: str | None
    box: int | None = Field(None, description="the box of its order the card is packed in")
    updated_at: UtcDatetime

    @classmethod
    def from_fulfillment(cls, fulfillment: CardFulfillment) -> "FulfillmentOut":
        return cls(
            status=fulfillment.status,
            order_id=fulfillment.order_id,
            carrier=fulfillment.carrier,
            tracking_number=fulfillment.tracking_number,
            box=fulfillment.box,
            updated_at=datetime.fromtimestamp(fulfillment.updated_ms / 1000, UTC),
        )


class CardPersonalizationOut(ApiResponse):
    """What is printed on this card (its postfix already appended)."""

    name_line1: str | None = None
    name_line2: str | None = None
    carrier_message: str | None = None
    card_image: str | None = None
    thermal_color: str | None = None
    name_line3: str | None = None
    custom_text: dict[str, str] | None = None
    carrier_image: str | None = None
    carrier_return_window_image: str | None = None

    @classmethod
    def from_personalization(cls, looks: Personalization) -> "CardPersonalizationOut":
        """Marqeta's default thermal colour when none was asked for."""
        color = looks.thermal_color or DEFAULT_THERMAL_COLOR
        shown = looks.model_copy(update={"thermal_color": color})
        return cls.model_validate(shown.model_dump(exclude={"numeric_postfix"}))


class CardOut(ApiResponse):
    """A card as the API shows it: never the full number."""

    id: str
    program_id: str
    bulk_issuance_id: str
    last_four_digits: str
    initial_value: str
    balance: str
    currency: str
    status: CardStatus
    is_physical: bool
    design_template: str | None
    expires_at: UtcDatetime
    recipient: Recipient | None
    notification: NotificationOut | None
    shipping_config_id: str | None = None
    personalization: CardPersonalizationOut | None = None
    fulfillment: FulfillmentOut | None = None  # physical cards only
    created_at: UtcDatetime

    @classmethod
    def from_view(cls, card: CardView) -> "CardOut":
        return cls(
            id=card.id,
            program_id=card.program_id,
            bulk_issuance_id=card.bulk_issuance_id,
            last_four_digits=card.last_four,
            initial_value=format_minor(card.initial_value, card.currency),
            balance=format_minor(card.balance, card.currency),
            currency=card.currency,
            status=_status(card),
            is_physical=card.is_physical,
            design_template=card.design_template,
            expires_at=card.expires_at,
            recipient=_recipient(card),
            notification=(
                NotificationOut.from_notification(card.notification) if card.notification else None
            ),
            shipping_config_id=card.shipping_config_id,
            personalization=(
                CardPersonalizationOut.from_personalization(card.personalization)
                if card.personalization
                else None
            ),
            fulfillment=(
                FulfillmentOut.from_fulfillment(card.fulfillment) if card.fulfillment else None
            ),
            created_at=card.created_at,
        )


def _recipient(card: CardView) -> Recipient | None:
    """The recipient as the request gave it: with the card's own `shipping` (individual
    fulfillment; stored on the card, where its manifest row reads it)."""
    if card.recipient is None:
        return None
    shipping = card.shipping.model_dump(by_alias=True) if card.shipping else None
    return Recipient(**card.recipient.model_dump(exclude={"shipping"}), shipping=shipping)


def _status(card: CardView) -> CardStatus:
    """Its stored status, `expired` once past its expiry, and a scheduled card `active` once
    past its activation (its batch's range update may be a moment late)."""
    now = utcnow()
    if as_utc(card.expires_at) <= now:
        return CardStatus.EXPIRED
    if (
        card.status == CardStatus.SCHEDULED
        and card.activates_at
        and as_utc(card.activates_at) <= now
    ):
        return CardStatus.ACTIVE
    return card.status
