"""Merchant webhooks of fulfillment: `fulfillment_order.updated` and `card.fulfillment.updated`.

One change of an order is one event per program callback URL, however many cards moved (their
ids travel as one list), signed and retried like the task callback. The event id is stable
(`{orderId}-{change}-...`), so a receiver deduplicates our retries. The latest delivery's state
is on the order (`webhook`).
"""

import logging
from datetime import UTC, datetime

from bson import ObjectId

from app.domain.cards.models import Card
from app.domain.fulfillment.models import FulfillmentOrder
from app.domain.programs.models import Program
from app.domain.webhooks.delivery import merchant_secret, post_event
from app.lib import jobs
from app.lib.resources import Resources

log = logging.getLogger(__name__)
ORDER_EVENT = "fulfillment_order.updated"
CARDS_EVENT = "card.fulfillment.updated"


async def _callback_urls(program_ids: list[str]) -> dict[str, str]:
    """program id → callbackUrl, for the programs that have one."""
    found = Program.find({"_id": {"$in": [ObjectId(p) for p in program_ids]}})
    return {str(p.id): p.callback_url async for p in found if p.callback_url}


async def queue_change(res: Resources, order: FulfillmentOrder, change: dict) -> None:
    urls = await _callback_urls(order.program_ids)
    if not urls:
        return
    order_id = str(order.id)
    if change["to"] is not None:
        first_per_url = {url: program_id for program_id, url in sorted(urls.items())}
        for program_id in first_per_url.values():
            await jobs.enqueue_fulfillment_webhook(
                res.redis, order_id, ORDER_EVENT, program_id, change
            )
    if change["cardStatus"] is not None:
        for program_id in urls:
            await jobs.enqueue_fulfillment_webhook(
                res.redis, order_id, CARDS_EVENT, program_id, change
            )


async def _card_ids(order: FulfillmentOrder, program_id: str, change: dict) -> list[str]:
    """Exactly the cards this change moved (they carry its number), whatever happened since."""
    query = {
        "shipping_config_id": order.shipping_config_id,
        "fulfillment.order_id": str(order.id),
        f"fulfillment.moves.{change['cardStatus']}": change["number"],
        "program_id": program_id,
    }
    found = Card.get_pymongo_collection().find(query, {"_id": 1}).sort("_id", 1)
    return [str(doc["_id"]) async for doc in found]


async def deliver(
    res: Resources, order_id: str, event_type: str, program_id: str, change: dict
) -> None:
    """Raises on a failed delivery, so arq retries it."""
    from app.domain.fulfillment.orders import describe_order

    order = await FulfillmentOrder.get(ObjectId(order_id))
    program = await Program.get(ObjectId(program_id))
    if order is None or program is None or not program.callback_url:
        return
    event_id = f"{order_id}-{change['number']}-" + (
        "order" if event_type == ORDER_EVENT else f"cards-{program_id}"
    )
    state = {"eventId": event_id, "type": event_type, "status": "pending"}
    await _count_attempt(order_id, state)
    described = await describe_order(res.store, order, 0, with_link=False)
    if event_type == ORDER_EVENT:
        # the status as of this change (a retried delivery may go out after the next one)
        data = {**described.model_dump(mode="json"), "status": change["to"]}
        data["change"] = _public(change)
    else:
        data = {
            "fulfillmentOrderId": order_id,
            "programId": program_id,
            "status": change["cardStatus"],
            "carrier": order.carrier,
            "trackingNumber": order.tracking_number,
            "cardIds": await _card_ids(order, program_id, change),
            "change": change["number"],
        }
    secret = await merchant_secret(res.vault, order.merchant_id)
    await post_event(program.callback_url, secret, event_type, data, event_id=event_id)
    delivered_at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    await _record(order_id, {**state, "status": "delivered", "deliveredAt": delivered_at})
    log.info("%s %s delivered for order %s", event_type, event_id, order_id)


def _public(change: dict) -> dict:
    return {"number": change["number"], "from": change["from"], "to": change["to"]}


async def _record(order_id: str, fields: dict) -> None:
    await FulfillmentOrder.get_pymongo_collection().update_one(
        {"_id": ObjectId(order_id)}, {"$set": {f"webhook.{k}": v for k, v in fields.items()}}
    )


async def _count_attempt(order_id: str, state: dict) -> None:
    """`webhook` describes the latest event: a new event starts its count at 1."""
    orders = FulfillmentOrder.get_pymongo_collection()
    same = await orders.update_one(
        {"_id": ObjectId(order_id), "webhook.eventId": state["eventId"]},
        {"$inc": {"webhook.attempts": 1}},
    )
    if not same.matched_count:
        await orders.update_one(
            {"_id": ObjectId(order_id)},
            {"$set": {"webhook": {**state, "attempts": 1, "lastError": None}}},
        )


async def record_failure(order_id: str, event_type: str, error: str, final: bool) -> None:
    await _record(
        order_id,
        {"type": event_type, "status": "failed" if final else "pending", "lastError": error[:500]},
    )
