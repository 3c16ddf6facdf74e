"""Status events from the printer: `POST /v2/fulfillment/events`.

Authenticated by `X-Printer-Signature: <hex HMAC-SHA256 of the raw body with VENDOR_SECRET>`
(no merchant token). Idempotent by `eventId` (a unique index): a replay answers `duplicate`
and changes nothing. Statuses only move forward, each move a conditional update on the allowed
previous statuses; a move that would go back is ignored, and the answer says so.
"""

import hashlib
import hmac
import logging

from bson import ObjectId
from pydantic import ValidationError
from pymongo.errors import DuplicateKeyError

from app.domain.cards.models import Card
from app.domain.fulfillment.models import FulfillmentEvent, FulfillmentOrder
from app.domain.fulfillment.orders import announce, next_change
from app.domain.fulfillment.schemas import PrinterEvent, PrinterEventResult
from app.lib.errors import NotFoundError, RequestValidationError, UnauthorizedError
from app.lib.resources import Resources
from app.lib.types import now_ms

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Printer-Signature"
REAPPLY_AFTER_MS = 30_000  # an event stored without a result this long ago died mid-way

# event status → the card statuses it may move from
CARD_FROM = {
    "SHIPPED": ["ORDERED"],
    "DELIVERED": ["ORDERED", "SHIPPED"],
    "REJECTED": ["ORDERED"],
    "RETURNED": ["SHIPPED", "DELIVERED"],
}
# order status → the order statuses it may move from
ORDER_FROM = {
    "SHIPPED": ["PENDING", "SUBMITTED"],
    "DELIVERED": ["PENDING", "SUBMITTED", "SHIPPED"],
    "FAILED": ["PENDING", "SUBMITTED", "SHIPPED"],
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
    order = await FulfillmentOrder.get(ObjectId(event.orderId))
    if order is None:
        raise NotFoundError("Fulfillment order not found.", code="fulfillment_order_not_found")
    stored = FulfillmentEvent(
        event_id=event.eventId,
        order_id=event.orderId,
        status=event.status,
        body=event.model_dump(mode="json"),
        received_ms=now_ms(),
    )
    try:
        await stored.insert()
    except DuplicateKeyError:
        first = await FulfillmentEvent.find_one({"event_id": event.eventId})
        if first is None or first.result or first.received_ms > now_ms() - REAPPLY_AFTER_MS:
            return PrinterEventResult(eventId=event.eventId, status="duplicate")
        stored = first
    result = await apply(res, order, event)
    await FulfillmentEvent.get_pymongo_collection().update_one(
        {"event_id": event.eventId}, {"$set": {"result": result.model_dump(mode="json")}}
    )
    return result


async def apply(res: Resources, order: FulfillmentOrder, event: PrinterEvent) -> PrinterEventResult:
    number = await next_change(str(order.id))
    await FulfillmentOrder.get_pymongo_collection().update_one(
        {"_id": order.id}, {"$set": {"cards_moved": True}}
    )
    moved_cards, asked = await _move_cards(order, event, number)
    order_from, order_to = order.status, _order_target(event)
    order_moved = order_to is not None and await _move_order(order, event, order_to)
    if event.status == "SHIPPED" and not order_moved and (event.carrier or event.trackingNumber):
        await _set_tracking(order, event)  # a later parcel of the same order, or a correction
    if moved_cards or order_moved:
        await announce(
            res,
            str(order.id),
            number,
            (order_from, order_to) if order_moved else None,
            card_status=event.status if moved_cards else None,
        )
    current = await FulfillmentOrder.get(order.id)
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
    log.info("printer event %s on order %s: %d cards moved", event.eventId, order.id, moved_cards)
    return PrinterEventResult(
        eventId=event.eventId,
        status="applied" if applied else "ignored",
        orderStatus=current.status,
        updatedCards=moved_cards,
        ignoredCards=ignored,
        reason=reason,
    )


def _order_target(event: PrinterEvent) -> str | None:
    if event.status in ("SHIPPED", "DELIVERED"):
        return event.status
    return "FAILED" if event.cardIds is None else None  # the whole parcel rejected/returned


async def _move_cards(order: FulfillmentOrder, event: PrinterEvent, number: int) -> tuple[int, int]:
    """Returns (cards moved, cards asked for). Moved cards record the change's number."""
    query: dict = {
        "shipping_config_id": order.shipping_config_id,
        "fulfillment.order_id": str(order.id),
        "fulfillment.status": {"$in": CARD_FROM[event.status]},
    }
    asked = order.card_count
    if event.cardIds:
        asked = len(set(event.cardIds))
        query["_id"] = {"$in": [ObjectId(c) for c in set(event.cardIds)]}
    changes: dict = {
        "fulfillment.status": event.status,
        "fulfillment.updated_ms": now_ms(),
        f"fulfillment.moves.{event.status}": number,
    }
    if event.carrier:
        changes["fulfillment.carrier"] = event.carrier
    if event.trackingNumber:
        changes["fulfillment.tracking_number"] = event.trackingNumber
    moved = await Card.get_pymongo_collection().update_many(query, {"$set": changes})
    return moved.modified_count, asked


async def _move_order(order: FulfillmentOrder, event: PrinterEvent, target: str) -> bool:
    changes: dict = {"status": target}
    stamp = {"SHIPPED": "shipped_ms", "DELIVERED": "delivered_ms"}.get(target)
    if stamp:
        changes[stamp] = now_ms()
    if event.carrier:
        changes["carrier"] = event.carrier
    if event.trackingNumber:
        changes["tracking_number"] = event.trackingNumber
    moved = await FulfillmentOrder.get_pymongo_collection().update_one(
        {"_id": order.id, "status": {"$in": ORDER_FROM[target]}}, {"$set": changes}
    )
    return bool(moved.modified_count)


async def _set_tracking(order: FulfillmentOrder, event: PrinterEvent) -> None:
    changes = {"carrier": event.carrier, "tracking_number": event.trackingNumber}
    await FulfillmentOrder.get_pymongo_collection().update_one(
        {"_id": order.id, "status": {"$in": ["SHIPPED", "DELIVERED"]}},
        {"$set": {k: v for k, v in changes.items() if v}},
    )
