"""The worker's side of an order: write its manifest, submit it to the printer, and record it.

Runs as the job `fulfill:{order_id}`; a retry writes the same manifest again and submits again
(the printer dedupes by order id). Only a PENDING order is submitted; after the last try the
order is FAILED (its cards stay ORDERED in it: statuses never move back).
"""

import logging

from bson import ObjectId

from app.domain.fulfillment.configs import now_ms
from app.domain.fulfillment.manifest import write_manifest
from app.domain.fulfillment.models import FulfillmentOrder, ShippingConfig
from app.domain.fulfillment.orders import announce, claimed_by_program, next_change
from app.domain.fulfillment.providers import provider_for
from app.lib import jobs
from app.lib.resources import Resources

log = logging.getLogger(__name__)
STUCK_MS = 5 * 60 * 1000


def orders():
    return FulfillmentOrder.get_pymongo_collection()


async def submit(res: Resources, order_id: str, attempt: int) -> None:
    order = await FulfillmentOrder.get(ObjectId(order_id))
    if order is None or order.status != "PENDING":
        return
    config = await ShippingConfig.get(ObjectId(order.shipping_config_id))
    if config is None:
        raise LookupError(f"shipping configuration {order.shipping_config_id} is gone")
    if order.card_count == 0:  # the cut died before recording its count
        by_program = await claimed_by_program(order.shipping_config_id, order_id)
        order.card_count, order.program_ids = sum(by_program.values()), sorted(by_program)
        if order.card_count == 0:
            await orders().delete_one({"_id": order.id, "status": "PENDING"})
            return
    provider = provider_for(res.settings, res.store)
    state = {"provider": provider.name, "status": "pending", "attempts": attempt}
    await orders().update_one({"_id": order.id}, {"$set": {"submission": state}})
    key, rows = await write_manifest(res.store, res.vault, order, config)
    await orders().update_one(
        {"_id": order.id},
        {"$set": {"manifest_key": key, "card_count": rows, "program_ids": order.program_ids}},
    )
    order.card_count = rows
    receipt = await provider.submit(order, config, key)
    moved = await orders().update_one(
        {"_id": order.id, "status": "PENDING"},
        {
            "$set": {
                "status": "SUBMITTED",
                "submitted_ms": now_ms(),
                "error": None,
                "submission": {**state, **receipt, "status": "submitted", "lastError": None},
            }
        },
    )
    if moved.modified_count:
        log.info("order %s submitted to the %s printer: %d cards", order_id, provider.name, rows)
        await announce(res, order_id, await next_change(order_id), ("PENDING", "SUBMITTED"))


async def record_failure(res: Resources, order_id: str, error: str, final: bool) -> None:
    await orders().update_one(
        {"_id": ObjectId(order_id), "status": "PENDING"},
        {"$set": {"submission.status": "failed" if final else "retrying", "error": error[:500]}},
    )
    if not final:
        return
    failed = await orders().update_one(
        {"_id": ObjectId(order_id), "status": "PENDING"}, {"$set": {"status": "FAILED"}}
    )
    if failed.modified_count:
        log.warning("order %s failed: %s", order_id, error)
        await announce(res, order_id, await next_change(order_id), ("PENDING", "FAILED"))


async def requeue_stuck(res: Resources) -> int:
    """PENDING orders whose submit job was lost (Redis flushed, the API died between the cut
    and the enqueue) get a fresh job."""
    stuck = orders().find(
        {"status": "PENDING", "created_ms": {"$lt": now_ms() - STUCK_MS}}, {"_id": 1, "changes": 1}
    )
    count = 0
    async for doc in stuck:
        await jobs.enqueue_submit_order(res.redis, str(doc["_id"]), recovery=now_ms() // STUCK_MS)
        count += 1
    return count
