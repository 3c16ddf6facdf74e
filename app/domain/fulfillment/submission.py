"""The worker's side of an order: write its manifest, submit it to the printer, and record it.

Runs as the job `fulfill:{order_id}` (a big manifest: a chain of them, `...:p{part}`); a retry
goes on from the last part recorded and submits again (the printer dedupes by order id). Only
a PENDING order is submitted; after the last try the order is FAILED (its cards stay ORDERED
in it: statuses never move back).
"""

import logging

from bson import ObjectId

from app.domain.fulfillment.manifest import ManifestSuperseded, manifest_key, write_manifest
from app.domain.fulfillment.models import FulfillmentOrder, ShippingConfig
from app.domain.fulfillment.orders import announce, claimed_batches, next_change, record_batches
from app.domain.fulfillment.providers import provider_for
from app.lib import jobs
from app.lib.resources import Resources
from app.lib.types import now_ms

log = logging.getLogger(__name__)
STUCK_MS = 5 * 60 * 1000


def orders():
    return FulfillmentOrder.get_pymongo_collection()


async def submit(res: Resources, order_id: str, attempt: int, budget_seconds: float) -> None:
    """Writes the manifest (or its next parts, then queues the job that goes on) and, once it
    is whole, submits it."""
    order = await FulfillmentOrder.get(ObjectId(order_id))
    if order is None or order.status != "PENDING":
        return
    config = await ShippingConfig.get(ObjectId(order.shipping_config_id))
    if config is None:
        raise LookupError(f"shipping configuration {order.shipping_config_id} is gone")
    if not order.batches:  # the cut died before recording its cards
        await record_batches(order, await claimed_batches(order.shipping_config_id, order_id))
        if order.card_count == 0:
            await orders().delete_one({"_id": order.id, "status": "PENDING"})
            return
    provider = provider_for(res.settings, res.store)
    state = {"provider": provider.name, "status": "pending", "attempts": attempt}
    await orders().update_one({"_id": order.id}, {"$set": {"submission": state}})
    if order.manifest_key is None:  # else a retry of the submission: the manifest is whole
        try:
            written = await write_manifest(res.store, res.vault, order, config, budget_seconds)
        except ManifestSuperseded:
            log.info("order %s: another job is writing the manifest", order_id)
            return
        if not written.whole:
            await jobs.enqueue_submit_order(res.redis, order_id, after_part=written.parts)
            return
        order.manifest_key = manifest_key(order)
        await orders().update_one({"_id": order.id}, {"$set": {"manifest_key": order.manifest_key}})
    key, rows = order.manifest_key, order.card_count
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
    quiet_since = now_ms() - STUCK_MS
    stuck = orders().find(
        {"status": "PENDING", "created_ms": {"$lt": quiet_since}},
        {"_id": 1, "manifest_progress": 1},
    )
    count = 0
    async for doc in stuck:
        if ((doc.get("manifest_progress") or {}).get("updated_ms") or 0) >= quiet_since:
            continue  # a chain of manifest jobs is still moving it on
        await jobs.enqueue_submit_order(res.redis, str(doc["_id"]), recovery=now_ms() // STUCK_MS)
        count += 1
    return count
