"""A FAILED order's way out: resubmit it to the printer, or cancel it so its cards go back to
CREATED and join the next cut. Shared by the API (a merchant's own orders) and the operator
CLI (any merchant's, `merchant_id=None`).

Each move of the order is a conditional update on its status, so of two concurrent calls one
moves it and the other answers with what the first did: one submit job per resubmission, and a
card is never in two orders. Only a FAILED order moves: a PENDING one may be in the printer's
hands at this very moment (its submit job has no lock to take), so cancelling it could print
cards that the next cut orders again. A cancel moves the order first (the claim), then its
ORDERED cards; calling it again finishes a cancel that died in between.
"""

import logging

from botocore.exceptions import ClientError

from app.domain.fulfillment.manifest import manifest_key
from app.domain.fulfillment.tally import settle, tally
from app.domain.fulfillment.webhooks import hold, publish
from app.lib import jobs
from app.lib.errors import ConflictError, NotFoundError
from app.storage.models import FulfillmentOrder
from app.storage.resources import Resources
from app.storage.states import CardFulfillmentStatus, OrderStatus

log = logging.getLogger(__name__)
IN_PRINTERS_HANDS = (OrderStatus.PENDING, OrderStatus.SUBMITTED)


async def find(res: Resources, order_id: str, merchant_id: str | None) -> FulfillmentOrder:
    """Another merchant's order is indistinguishable from a missing one."""
    order = await res.db.fulfillment_orders.visible(order_id, merchant_id)
    if order is None:
        raise NotFoundError("Fulfillment order not found.", code="fulfillment_order_not_found")
    return order


async def resubmit(res: Resources, order_id: str, merchant_id: str | None) -> FulfillmentOrder:
    """FAILED → PENDING with a fresh submit job; the manifest is kept when it is whole in the
    store, else written again from the start. A resubmitted order still PENDING or SUBMITTED
    is answered as it is (no second job)."""
    order = await find(res, order_id, merchant_id)
    if order.status == OrderStatus.FAILED:
        if order.cards_moved:  # the printer rejected or returned it: not sent again
            raise ConflictError(
                "The printer rejected or returned this order, so it is not sent again; cancel "
                "it to put its cards still ORDERED back for the next cut.",
                code="order_not_resubmittable",
            )
        if await _resubmit_failed(res, order):
            return await find(res, order_id, merchant_id)
        order = await find(res, order_id, merchant_id)  # a concurrent call moved it first
    if order.status in IN_PRINTERS_HANDS and order.resubmits:
        return order
    raise ConflictError(
        f"Only a FAILED order can be resubmitted; this one is {order.status}.",
        code="order_not_failed",
    )


async def _resubmit_failed(res: Resources, order: FulfillmentOrder) -> bool:
    """Moves the order back to PENDING and queues its submit job; False when another call
    moved it first."""
    order_id, orders = str(order.id), res.db.fulfillment_orders
    key = order.manifest_key
    keep = key is not None and await res.store.exists(key)
    change = await orders.next_change(order_id)
    held = await hold(res, order_id, change, (OrderStatus.FAILED, OrderStatus.PENDING))
    before = await orders.resubmit_failed(order_id, keep, change)
    await publish(res, order_id, held, before is not None, False)
    if before is None:
        return False
    await _drop_partial_manifest(res, before, keep)
    round_ = before.resubmits + 1
    await jobs.enqueue_submit_order(res.redis, order_id, recovery=round_)
    log.info("order %s resubmitted (round %d)", order_id, round_)
    return True


async def _drop_partial_manifest(res: Resources, before: FulfillmentOrder, kept: bool) -> None:
    """Aborts the multipart upload of a manifest that is written again from the start."""
    progress = before.manifest_progress
    if kept or progress is None:
        return
    try:
        await res.store.abort_multipart(manifest_key(before), progress.upload_id)
    except ClientError:  # gone already (completed, expired or aborted): nothing to drop
        log.info("order %s: its old manifest upload was already gone", before.id)


async def cancel(res: Resources, order_id: str, merchant_id: str | None) -> FulfillmentOrder:
    """FAILED → CANCELLED, and its ORDERED cards back to CREATED with no order."""
    order = await find(res, order_id, merchant_id)
    orders = res.db.fulfillment_orders
    if order.status not in (OrderStatus.FAILED, OrderStatus.CANCELLED):
        raise _not_cancellable(order)
    change = await orders.next_change(order_id)
    await settle(res, order, below=change)
    failed = order.status == OrderStatus.FAILED
    order_change = (OrderStatus.FAILED, OrderStatus.CANCELLED) if failed else None
    held = await hold(res, order_id, change, order_change, CardFulfillmentStatus.CREATED)
    cancelled = failed and await orders.cancel_failed(order_id, change)
    if cancelled:
        log.info("order %s cancelled", order_id)
    elif failed:  # a concurrent call moved it first
        order = await find(res, order_id, merchant_id)
    if not cancelled and order.status != OrderStatus.CANCELLED:
        await publish(res, order_id, held, False, False)
        raise _not_cancellable(order)
    released = await res.db.cards.release_ordered(order.shipping_config_id, order_id, change)
    await tally(res, order, change, CardFulfillmentStatus.CREATED)
    if released:
        log.info("order %s: %d card(s) back to CREATED", order_id, released)
    await publish(res, order_id, held, cancelled, released > 0)
    return await find(res, order_id, merchant_id)


def _not_cancellable(order: FulfillmentOrder) -> ConflictError:
    hint = " (being submitted to the printer)" if order.status == OrderStatus.PENDING else ""
    return ConflictError(
        f"Only a FAILED order can be cancelled; this one is {order.status}{hint}.",
        code="order_not_cancellable",
    )
