"""Fulfillment orders: cutting one (every CREATED card of a configuration, each card in exactly
one order whatever the concurrency), reading them back with their cards' statuses.

The cut is: insert the order (PENDING), then ONE `update_many` that moves the configuration's
CREATED, unclaimed cards to ORDERED in this order. Each document's update is atomic, so two
concurrent cuts never claim the same card; a card issued after the update ran stays CREATED
for the next order. An order that claimed nothing is deleted again (409 nothing_to_fulfill).
"""

import logging

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from app.domain.cards.models import Card
from app.domain.fulfillment import webhooks
from app.domain.fulfillment.configs import get_config
from app.domain.fulfillment.models import FulfillmentOrder, ShippingConfig
from app.domain.fulfillment.schemas import FulfillAccepted, FulfillmentOrderOut, from_ms
from app.domain.issuance.models import BulkIssuance
from app.lib import jobs
from app.lib.errors import ConflictError, NotFoundError
from app.lib.object_store import ObjectStore
from app.lib.pagination import newest_first_page
from app.lib.resources import Resources
from app.lib.types import now_ms, utcnow

log = logging.getLogger(__name__)
BATCH_FIELDS = ("count", "first", "last")
# An order shows once its cards are claimed: not while a cut is under way (or came to nothing).
VISIBLE = {"card_count": {"$gt": 0}}


def cards():
    return Card.get_pymongo_collection()


def orders():
    return FulfillmentOrder.get_pymongo_collection()


async def fulfill(res: Resources, merchant_id: str, config_id: str) -> FulfillAccepted:
    """MANUAL fulfillment: POST .../shipping-configs/{id}/fulfill."""
    config = await get_config(merchant_id, config_id)
    order = await cut(res, config, ObjectId(), trigger="MANUAL")
    if order is None:
        raise ConflictError(
            "No card of this shipping configuration is waiting to be ordered.",
            code="nothing_to_fulfill",
        )
    return FulfillAccepted(fulfillmentOrderId=str(order.id), cardCount=order.card_count)


async def cut(
    res: Resources,
    config: ShippingConfig,
    order_id: ObjectId,
    trigger: str,
    cutoff_ms: int | None = None,
) -> FulfillmentOrder | None:
    """Claims the configuration's waiting cards into order `order_id` (created if missing, so a
    resumed AUTO cut-off reuses its order); None when there was nothing to claim."""
    now = utcnow()
    order = FulfillmentOrder(
        id=order_id,
        merchant_id=config.merchant_id,
        shipping_config_id=str(config.id),
        trigger=trigger,
        cutoff_ms=cutoff_ms,
        status="PENDING",
        changes=1,  # the cut is change 1
        provider=res.settings.printer_provider,
        created_ms=int(now.timestamp() * 1000),
        created_at=now,
    )
    try:
        await order.insert()
    except DuplicateKeyError:
        pass  # a resumed AUTO cut-off: its order exists, and so may some of its cards
    waiting = {
        "shipping_config_id": str(config.id),
        "merchant_id": config.merchant_id,
        "fulfillment.status": "CREATED",
        "fulfillment.order_id": None,
    }
    if cutoff_ms is not None:  # AUTO: the cards issued before the cut-off
        waiting["fulfillment.updated_ms"] = {"$lte": cutoff_ms}
    await cards().update_many(
        waiting,
        {
            "$set": {
                "fulfillment.order_id": str(order_id),
                "fulfillment.status": "ORDERED",
                "fulfillment.updated_ms": now_ms(),
                "fulfillment.moves.ORDERED": 1,
            }
        },
    )
    batches = await claimed_batches(str(config.id), str(order_id))
    count = sum(b["count"] for b in batches)
    if count == 0:
        await orders().delete_one({"_id": order_id, "card_count": 0})
        return None
    await record_batches(order, batches)
    log.info("fulfillment order %s cut: %d cards (%s)", order_id, count, trigger)
    await jobs.enqueue_submit_order(res.redis, str(order_id))
    await announce(res, str(order_id), 1, (None, "PENDING"), card_status="ORDERED")
    return order


async def claimed_batches(config_id: str, order_id: str) -> list[dict]:
    """The order's cards by bulk issuance, in issuance order: `issuance`, `program`, `count`
    and the `first`/`last` seq, so the manifest reads each through the cards' unique index in
    seq ranges (nx-27017 groups on one field only: the programs come from the issuances)."""
    pipeline = [
        {"$match": {"shipping_config_id": config_id, "fulfillment.order_id": order_id}},
        {
            "$group": {
                "_id": "$bulk_issuance_id",
                "count": {"$sum": 1},
                "first": {"$min": "$seq"},
                "last": {"$max": "$seq"},
            }
        },
    ]
    groups = [doc async for doc in await cards().aggregate(pipeline)]
    found = BulkIssuance.get_pymongo_collection().find(
        {"_id": {"$in": [ObjectId(g["_id"]) for g in groups]}}, {"program_id": 1}
    )
    programs = {str(doc["_id"]): doc["program_id"] async for doc in found}
    return [
        {"issuance": g["_id"], "program": programs[g["_id"]], **{k: g[k] for k in BATCH_FIELDS}}
        for g in sorted(groups, key=lambda g: g["_id"])
    ]


async def record_batches(order: FulfillmentOrder, batches: list[dict]) -> None:
    order.batches, order.card_count = batches, sum(b["count"] for b in batches)
    fields = {"batches": batches, "card_count": order.card_count}
    await orders().update_one({"_id": order.id}, {"$set": fields})


async def cards_by_status(order: FulfillmentOrder) -> dict[str, int]:
    if not order.cards_moved:
        return {"ORDERED": order.card_count} if order.card_count else {}
    pipeline = [
        {
            "$match": {
                "shipping_config_id": order.shipping_config_id,
                "fulfillment.order_id": str(order.id),
            }
        },
        {"$group": {"_id": "$fulfillment.status", "n": {"$sum": 1}}},
    ]
    cursor = await cards().aggregate(pipeline)
    return {doc["_id"]: doc["n"] async for doc in cursor}


async def next_change(order_id: str) -> int:
    """The number of the order's next change: cards moved in it record it
    (`fulfillment.moves.<status>`), so its webhook lists exactly them, whenever it goes out."""
    order = await orders().find_one_and_update(
        {"_id": ObjectId(order_id)}, {"$inc": {"changes": 1}}, return_document=True
    )
    return order["changes"]


async def announce(
    res: Resources,
    order_id: str,
    number: int,
    order_change: tuple[str | None, str] | None,
    card_status: str | None = None,
) -> None:
    """Queues the webhooks of change `number`: `fulfillment_order.updated` when the order's
    status moved, `card.fulfillment.updated` when cards moved to `card_status`."""
    order = await FulfillmentOrder.get(ObjectId(order_id))
    if order is not None:
        change = {
            "number": number,
            "from": order_change[0] if order_change else None,
            "to": order_change[1] if order_change else None,
            "cardStatus": card_status,
        }
        await webhooks.queue_change(res, order, change)


async def get_order(merchant_id: str, order_id: str) -> FulfillmentOrder:
    order = await FulfillmentOrder.find_one(
        {"_id": ObjectId(order_id), "merchant_id": merchant_id, **VISIBLE}
    )
    if order is None:
        raise NotFoundError("Fulfillment order not found.", code="fulfillment_order_not_found")
    return order


async def list_orders(
    merchant_id: str, config_id: str | None, status: str | None, limit: int, cursor: str | None
) -> tuple[list[FulfillmentOrder], str | None]:
    query: dict = {"merchant_id": merchant_id, **VISIBLE}
    if config_id:
        query["shipping_config_id"] = config_id
    if status:
        query["status"] = status
    return await newest_first_page(FulfillmentOrder, query, limit, cursor)


async def describe_order(
    store: ObjectStore, order: FulfillmentOrder, ttl: int, with_link: bool = True
) -> FulfillmentOrderOut:
    link = None
    if with_link and order.manifest_key:
        link = store.presigned_get(order.manifest_key, ttl)
    return FulfillmentOrderOut(
        id=str(order.id),
        shippingConfigId=order.shipping_config_id,
        trigger=order.trigger,
        status=order.status,
        cardCount=order.card_count,
        cardsByStatus=await cards_by_status(order),
        manifestUrl=link,
        carrier=order.carrier,
        trackingNumber=order.tracking_number,
        submission=order.submission,
        webhook=order.webhook,
        error=order.error,
        createdAt=order.created_at,
        cutoffAt=from_ms(order.cutoff_ms),
        submittedAt=from_ms(order.submitted_ms),
        shippedAt=from_ms(order.shipped_ms),
        deliveredAt=from_ms(order.delivered_ms),
    )
