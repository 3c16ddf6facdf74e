"""The worker's side of an order: write its manifest, submit it to the printer, and record it.

Runs as the job `fulfill:{order_id}` (a big manifest: a chain of them, `...:p{part}`; before
it, a big order's cut goes on box by box in jobs `...:c{batch}.{seq}`, orders.py); a retry
goes on from the last part recorded and submits again (the printer dedupes by order id). Only
a PENDING order is submitted; after the last try the order is FAILED (its cards stay ORDERED
in it: statuses never move back) until it is resubmitted or cancelled (recovery.py). A
resubmitted order's jobs carry its round (`resubmits`) in their ids: the last round's ids may
still be kept by arq.
"""

import logging

from app.domain.fulfillment.manifest import ManifestSuperseded, manifest_key, write_manifest
from app.domain.fulfillment.orders import claimed_batches, cut_on, record_batches
from app.domain.fulfillment.providers import provider_for
from app.domain.fulfillment.tally import settle
from app.domain.fulfillment.webhooks import announce, hold, publish
from app.lib import jobs
from app.lib.types import now_ms
from app.storage.resources import Resources
from app.storage.states import CardFulfillmentStatus, OrderStatus

log = logging.getLogger(__name__)
STUCK_MS = 5 * 60 * 1000


async def submit(res: Resources, order_id: str, attempt: int, budget_seconds: float) -> None:
    """Writes the manifest (or its next parts, then queues the job that goes on) and, once it
    is whole, submits it."""
    orders = res.db.fulfillment_orders
    order = await orders.get(order_id)
    if order is None or order.status != OrderStatus.PENDING:
        return
    if order.cutting:  # a big order's next boxes (its cut hands on to a next job, or ends)
        await cut_on(res, order, budget_seconds)
        return
    config = await res.db.shipping_configs.get(order.shipping_config_id)
    if config is None:
        raise LookupError(f"shipping configuration {order.shipping_config_id} is gone")
    if not order.batches:  # an order cut before 2026-11-24 whose cut died before recording
        await record_batches(
            res, order, await claimed_batches(res, order.shipping_config_id, order_id)
        )
        if order.card_count == 0:
            await orders.delete_pending(order_id)
            return
    await announce_cut(res, order_id)
    await settle(res, order, below=2)  # the cut's counts, when the cut died before them
    provider = provider_for(res.settings, res.store)
    await orders.start_submission(order_id, provider.name, attempt)
    if order.manifest_key is None:  # else a retry of the submission: the manifest is whole
        try:
            written = await write_manifest(res, order, config, budget_seconds)
        except ManifestSuperseded:
            log.info("order %s: another job is writing the manifest", order_id)
            return
        if not written.whole:
            await jobs.enqueue_submit_order(
                res.redis, order_id, recovery=order.resubmits, after_part=written.parts
            )
            return
        order.manifest_key = manifest_key(order)
        await orders.set_manifest_key(order_id, order.manifest_key)
    key, rows = order.manifest_key, order.card_count
    receipt = await provider.submit(order, config, key)
    change = await orders.next_change(order_id)
    held = await hold(res, order_id, change, (OrderStatus.PENDING, OrderStatus.SUBMITTED))
    submitted = await orders.mark_submitted(
        order_id, provider.name, attempt, receipt.location, receipt.http_status, change
    )
    await publish(res, order_id, held, submitted, False)
    if submitted:
        log.info("order %s submitted to the %s printer: %d cards", order_id, provider.name, rows)


async def announce_cut(res: Resources, order_id: str) -> None:
    """The webhooks of the cut (change 1), in case the cut died before writing them: the same
    event ids, so nothing new when it did."""
    await announce(
        res, order_id, 1, (None, OrderStatus.PENDING), card_status=CardFulfillmentStatus.ORDERED
    )


async def record_failure(res: Resources, order_id: str, error: str, final: bool) -> None:
    orders = res.db.fulfillment_orders
    await orders.record_submission_error(order_id, error, final)
    order = await orders.get(order_id)
    if not final or order is None or order.status != OrderStatus.PENDING:
        return
    change = await orders.next_change(order_id)
    held = await hold(res, order_id, change, (OrderStatus.PENDING, OrderStatus.FAILED))
    failed = await orders.fail_pending(order_id, change)
    await publish(res, order_id, held, failed, False)
    if failed:
        log.warning("order %s failed: %s", order_id, error)


async def requeue_stuck(res: Resources) -> int:
    """PENDING orders whose submit job was lost (Redis flushed, the API died between the cut
    and the enqueue) get a fresh job."""
    count = 0
    async for order_id in res.db.fulfillment_orders.quiet_pending(now_ms() - STUCK_MS):
        await jobs.enqueue_submit_order(res.redis, order_id, recovery=now_ms() // STUCK_MS)
        count += 1
    return count
