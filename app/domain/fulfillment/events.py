"""Status events from the printer: `POST /v2/fulfillment/events`.

Authenticated by `X-Printer-Signature: <hex HMAC-SHA256 of the raw body with VENDOR_SECRET>`
(no merchant token). Idempotent by `eventId` (a unique index): a replay answers `duplicate`
and changes nothing. Statuses only move forward, each move a conditional update on the allowed
previous statuses; a move that would go back is ignored, and the answer says so.
"""

import hashlib
import hmac
import logging

from pydantic import ValidationError

from app.domain.fulfillment.schemas import PrinterEvent, PrinterEventResult
from app.domain.fulfillment.tally import settle, tally
from app.domain.fulfillment.webhooks import hold, publish
from app.lib.errors import NotFoundError, RequestValidationError, UnauthorizedError
from app.lib.types import now_ms
from app.storage.models import BoxTracking, FulfillmentEvent, FulfillmentOrder
from app.storage.repositories.card_fulfillment import BoxRange
from app.storage.resources import Resources
from app.storage.states import (
    CardFulfillmentStatus,
    OrderStatus,
    PrinterEventOutcome,
    PrinterEventStatus,
)

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Printer-Signature"
REAPPLY_AFTER_MS = 30_000  # an event stored without a result this long ago died mid-way

# event status → the card statuses it may move from
CARD_FROM: dict[PrinterEventStatus, list[CardFulfillmentStatus]] = {
    PrinterEventStatus.SHIPPED: [CardFulfillmentStatus.ORDERED],
    PrinterEventStatus.DELIVERED: [CardFulfillmentStatus.ORDERED, CardFulfillmentStatus.SHIPPED],
    PrinterEventStatus.REJECTED: [CardFulfillmentStatus.ORDERED],
    PrinterEventStatus.RETURNED: [CardFulfillmentStatus.SHIPPED, CardFulfillmentStatus.DELIVERED],
}
# order status → the order statuses it may move from
ORDER_FROM: dict[OrderStatus, list[OrderStatus]] = {
    OrderStatus.SHIPPED: [OrderStatus.PENDING, OrderStatus.SUBMITTED],
    OrderStatus.DELIVERED: [OrderStatus.PENDING, OrderStatus.SUBMITTED, OrderStatus.SHIPPED],
    OrderStatus.FAILED: [OrderStatus.PENDING, OrderStatus.SUBMITTED, OrderStatus.SHIPPED],
}


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def parse(secret: str, body: bytes, signature: str | None) -> PrinterEvent:
    """401 unless the signature matches the raw body; then 422 for a bad body."""
    if not signature or not hmac.compare_digest(sign(secret, body), signature.strip().lower()):
        raise UnauthorizedError("Missing or invalid printer signature.", code="invalid_signature")
    try:
        return PrinterEvent.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError(
            [
                {
                    "loc": ["body", *e["loc"]],
                    "msg": e["msg"],
                    "type": e["type"],
                    "input": e.get("input") if isinstance(e.get("input"), str | int) else None,
                }
                for e in exc.errors(include_url=False)
            ]
        ) from exc


async def receive(res: Resources, body: bytes, signature: str | None) -> PrinterEventResult:
    event = parse(res.settings.vendor_secret, body, signature)
    order = await res.db.fulfillment_orders.get(event.order_id)
    if order is None:
        raise NotFoundError("Fulfillment order not found.", code="fulfillment_order_not_found")
    stored = FulfillmentEvent(
        event_id=event.event_id,
        order_id=event.order_id,
        status=event.status,
        body=event.model_dump(mode="json"),
        received_ms=now_ms(),
    )
    if not await res.db.fulfillment_events.insert_if_new(stored):
        first = await res.db.fulfillment_events.by_event_id(event.event_id)
        if first is None or first.result or first.received_ms > now_ms() - REAPPLY_AFTER_MS:
            return PrinterEventResult.from_outcome(event, PrinterEventOutcome.DUPLICATE)
    result = await apply(res, order, event)
    await res.db.fulfillment_events.record_result(event.event_id, result.model_dump(mode="json"))
    return result


async def apply(res: Resources, order: FulfillmentOrder, event: PrinterEvent) -> PrinterEventResult:
    orders = res.db.fulfillment_orders
    order_id = str(order.id)
    number = await orders.next_change(order_id)
    await settle(res, order, below=number)
    order_to = _order_target(event)
    held = await hold(
        res,
        order_id,
        number,
        None if order_to is None else (order.status, order_to),
        card_status=CardFulfillmentStatus(event.status),
        tracking=(event.carrier, event.tracking_number),
        box=event.box_number,
    )
    await orders.mark_cards_moved(order_id)
    # one box's cards: a range of the batch's index, not the configuration's every card
    box_range = None if event.box_number is None else order.box_range(event.box_number)
    moved_cards, asked = await _move_cards(res, order, event, number, box_range)
    if event.box_number is not None and moved_cards:
        tracking = BoxTracking(
            status=event.status,
            carrier=event.carrier,
            tracking_number=event.tracking_number,
            updated_ms=now_ms(),
        )
        await orders.set_box_tracking(order_id, event.box_number, tracking)
    await tally(res, order, number, CardFulfillmentStatus(event.status), box_range)
    # a box's tracking is the box's (above), the order's is that of a whole-order event
    whole = event.box_number is None
    carrier, tracking_number = (event.carrier, event.tracking_number) if whole else (None, None)
    order_moved = order_to is not None and await orders.move_status(
        order_id, order_to, ORDER_FROM[order_to], number, carrier, tracking_number
    )
    shipped = event.status == PrinterEventStatus.SHIPPED
    if shipped and not order_moved and whole and (event.carrier or event.tracking_number):
        # a later parcel of the same order, or a correction
        await orders.set_tracking(order_id, event.carrier, event.tracking_number)
    await publish(res, order_id, held, order_moved, moved_cards > 0)
    current = await orders.get(order_id)
    if current is None:
        raise NotFoundError("Fulfillment order not found.", code="fulfillment_order_not_found")
    ignored = max(asked - moved_cards, 0)
    applied = bool(moved_cards or order_moved)
    reason = None
    if not applied:
        reason = (
            f"nothing moved: the order is {current.status} and no card of it can move to "
            f"{event.status} (statuses only move forward)"
        )
    elif ignored:
        reason = f"{ignored} card(s) not moved to {event.status}: already past it or not here"
    log.info("printer event %s on order %s: %d cards moved", event.event_id, order_id, moved_cards)
    return PrinterEventResult.from_outcome(
        event,
        PrinterEventOutcome.APPLIED if applied else PrinterEventOutcome.IGNORED,
        order_status=current.status,
        updated_cards=moved_cards,
        ignored_cards=ignored,
        reason=reason,
    )


def _order_target(event: PrinterEvent) -> OrderStatus | None:
    if event.status in (PrinterEventStatus.SHIPPED, PrinterEventStatus.DELIVERED):
        return OrderStatus(event.status)
    # the whole parcel rejected/returned (not one box of it, nor some cards)
    return OrderStatus.FAILED if event.card_ids is None and event.box_number is None else None


async def _move_cards(
    res: Resources,
    order: FulfillmentOrder,
    event: PrinterEvent,
    number: int,
    box_range: BoxRange | None,
) -> tuple[int, int]:
    """Returns (cards moved, cards asked for). Moved cards record the change's number."""
    asked, card_ids = order.card_count, None
    if event.card_ids:
        card_ids = set(event.card_ids)
        asked = len(card_ids)
    elif event.box_number is not None:
        asked = await res.db.cards.count_in_box(
            order.shipping_config_id, str(order.id), event.box_number, box_range
        )
    moved = await res.db.cards.move_in_order(
        order.shipping_config_id,
        str(order.id),
        CARD_FROM[event.status],
        CardFulfillmentStatus(event.status),
        number,
        card_ids=card_ids,
        carrier=event.carrier,
        tracking_number=event.tracking_number,
        box=event.box_number,
        box_range=box_range,
    )
    return moved, asked
