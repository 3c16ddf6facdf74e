"""Cutting a fulfillment order: every CREATED card of a configuration, each card in exactly one
order whatever the concurrency.

The cut is: insert the order (PENDING), then ONE `update_many` that moves the configuration's
CREATED, unclaimed cards to ORDERED in this order (see `claim_waiting`). An order that claimed
nothing is deleted again (409 nothing_to_fulfill).
"""

import logging

from bson import ObjectId

from app.domain.fulfillment.tally import tally
from app.domain.fulfillment.webhooks import announce
from app.lib import jobs
from app.lib.types import utcnow
from app.storage.models import FulfillmentOrder, OrderBatch, ShippingConfig
from app.storage.resources import Resources
from app.storage.states import CardFulfillmentStatus, OrderStatus, ShippingPolicy

log = logging.getLogger(__name__)


async def cut(
    res: Resources,
    config: ShippingConfig,
    order_id: ObjectId,
    trigger: ShippingPolicy,
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
        status=OrderStatus.PENDING,
        changes=1,  # the cut is change 1
        provider=res.settings.printer_provider,
        created_ms=int(now.timestamp() * 1000),
        created_at=now,
    )
    # False: a resumed AUTO cut-off, whose order exists (and so may some of its cards)
    await res.db.fulfillment_orders.insert_if_new(order)
    await res.db.cards.claim_waiting(str(config.id), config.merchant_id, str(order_id), cutoff_ms)
    batches = await claimed_batches(res, str(config.id), str(order_id))
    count = sum(b.count for b in batches)
    if count == 0:
        await res.db.fulfillment_orders.delete_if_empty(order_id)
        return None
    await record_batches(res, order, batches)
    await tally(res, order, 1)  # crash before it: the submit job tallies the cut
    log.info("fulfillment order %s cut: %d cards (%s)", order_id, count, trigger)
    await jobs.enqueue_submit_order(res.redis, str(order_id))
    await announce(
        res,
        str(order_id),
        1,
        (None, OrderStatus.PENDING),
        card_status=CardFulfillmentStatus.ORDERED,
    )
    return order


async def claimed_batches(res: Resources, config_id: str, order_id: str) -> list[OrderBatch]:
    """The order's cards by bulk issuance, in issuance order, with their program and their
    first/last seq, so the manifest reads each through the cards' unique index in seq ranges."""
    groups = await res.db.cards.claimed_groups(config_id, order_id)
    programs = await res.db.issuances.program_ids([g.issuance for g in groups])
    return [
        OrderBatch(
            issuance=g.issuance,
            program=programs[g.issuance],
            count=g.count,
            first=g.first,
            last=g.last,
        )
        for g in groups
    ]


async def record_batches(
    res: Resources, order: FulfillmentOrder, batches: list[OrderBatch]
) -> None:
    order.batches, order.card_count = batches, sum(b.count for b in batches)
    await res.db.fulfillment_orders.record_batches(str(order.id), batches, order.card_count)
