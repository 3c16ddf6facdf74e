"""Cutting a fulfillment order: every CREATED card of a configuration, each card in exactly one
order whatever the concurrency, packed in boxes of at most BOX_SIZE cards.

The cut inserts the order (PENDING), plans it (the configuration's batches whose counts show
waiting cards, each over all its seqs), then claims box after box: one `update_many` over a
seq range of the cards' unique index moves its waiting cards to ORDERED in this order and box,
and the order records where the next box starts (compare-and-set). The request (or the AUTO
cut-off's cron job) claims boxes for CUT_REQUEST_SECONDS (one box at least); a bigger order is
cut on by the order's own jobs (submission.py), short ones, so a million-card order needs no
long request or job. A claim repeated after a crash takes nothing twice (each card's update
repeats the waiting condition), keeps the box's number and counts the box's cards again. An
order that claimed nothing is deleted again (409 nothing_to_fulfill).
"""

import logging
import time

from bson import ObjectId

from app.domain.fulfillment.tally import settle, tally
from app.domain.fulfillment.webhooks import announce
from app.lib import jobs
from app.lib.types import now_ms, utcnow
from app.storage.models import CutProgress, FulfillmentOrder, OrderBatch, ShippingConfig
from app.storage.resources import Resources
from app.storage.states import CardFulfillmentStatus, OrderStatus, ShippingPolicy

log = logging.getLogger(__name__)


class CutSuperseded(Exception):
    """Another run moved the cut on first: it goes on with it, this one stops."""


async def cut(
    res: Resources,
    config: ShippingConfig,
    order_id: ObjectId,
    trigger: ShippingPolicy,
    cutoff_ms: int | None = None,
) -> FulfillmentOrder | None:
    """Claims the configuration's waiting cards into order `order_id` (created if missing, so a
    resumed AUTO cut-off reuses its order), for CUT_REQUEST_SECONDS; the order's jobs claim
    the rest. None when there was nothing to claim."""
    budget = res.settings.cut_request_seconds
    now = utcnow()
    order = FulfillmentOrder(
        id=order_id,
        merchant_id=config.merchant_id,
        shipping_config_id=str(config.id),
        trigger=trigger,
        cutoff_ms=cutoff_ms,
        cut_bound_ms=now_ms() if cutoff_ms is None else cutoff_ms,
        cutting=True,
        status=OrderStatus.PENDING,
        changes=1,  # the cut is change 1
        provider=res.settings.printer_provider,
        created_ms=int(now.timestamp() * 1000),
        created_at=now,
    )
    if not await res.db.fulfillment_orders.insert_if_new(order):
        order = await res.db.fulfillment_orders.get(order_id) or order  # a resumed cut-off
    if not order.cutting:
        return order
    return await cut_on(res, order, budget)


async def cut_on(
    res: Resources, order: FulfillmentOrder, budget_seconds: float
) -> FulfillmentOrder | None:
    """Claims the order's next boxes for `budget_seconds`; then ends the cut, or queues the
    order's job that goes on. The order as it stands (None: it came to nothing)."""
    order_id = str(order.id)
    progress = order.cut or await _plan(res, order)
    if progress is not None:
        try:
            progress = await _claim_boxes(res, order, progress, budget_seconds)
        except CutSuperseded:
            log.info("order %s: another run is cutting it", order_id)
            return await res.db.fulfillment_orders.get(order_id)
        if progress.batch < len(progress.plan):
            log.info("order %s: %d cards in %d boxes so far, handing off", order_id,
                     progress.cards, progress.boxes)  # fmt: skip
            cut_at = f"{progress.batch}.{progress.seq}"  # unique: a step may fill no box
            await jobs.enqueue_submit_order(res.redis, order_id, cut_at=cut_at)
            return await res.db.fulfillment_orders.get(order_id)
    return await _end_cut(res, order, progress)


async def _plan(res: Resources, order: FulfillmentOrder) -> CutProgress | None:
    """The cut's plan, recorded on the order (or the one another run recorded first): the
    configuration's batches whose counts show cards waiting, each over all its seqs. Read
    from the batches, not the cards: grouping a million waiting cards is one query that
    holds nx-27017 past the client's timeout; a box's claim takes only its waiting cards."""
    config_id = order.shipping_config_id
    for cancelled in await res.db.fulfillment_orders.cancelled_of_config(config_id):
        await settle(res, cancelled, below=cancelled.changes + 1)  # its released cards count
    batches = await res.db.issuances.physical_batches_waiting(order.merchant_id, config_id)
    plan = [
        OrderBatch(issuance=b.issuance, program=b.program, count=b.seqs, first=0,
                   last=b.seqs - 1)
        for b in batches
        if b.seqs > 0
    ]  # fmt: skip
    if not plan:
        return None
    progress = CutProgress(plan=plan, seq=0, updated_ms=now_ms())
    await res.db.fulfillment_orders.plan_cut(str(order.id), progress)
    stored = await res.db.fulfillment_orders.get(str(order.id))
    return stored.cut if stored is not None and stored.cut is not None else progress


async def _claim_boxes(
    res: Resources, order: FulfillmentOrder, progress: CutProgress, budget_seconds: float
) -> CutProgress:
    """Box after box until the plan is done or the budget is spent (one box at least); each
    box a seq range of BOX_SIZE of one bulk issuance (fewer cards where some were ordered
    before, none where all were: no box then). A box is counted from the cards after its
    claim (exact: a card claimed by anyone else is there by then, and none is left to claim)
    when another run may hold some of its range: on the run's first box (a run that died
    after claiming it, or a rival that started from the same progress) and whenever the
    claim took less than the whole range (a rival may have taken the rest). A whole range
    claimed is the run's own: no count, as for every box of a fresh batch."""
    started = time.monotonic()
    order_id, size = str(order.id), res.settings.box_size
    assert order.cut_bound_ms is not None
    first = progress
    while progress.batch < len(progress.plan):
        if progress is not first and time.monotonic() - started >= budget_seconds:
            break
        batch = progress.plan[progress.batch]
        end = min(progress.seq + size, batch.last + 1)
        seqs = (batch.program, batch.issuance, progress.seq, end)
        box = progress.boxes + 1
        claimed = await res.db.cards.claim_box(order.cut_bound_ms, order_id, seqs, box)
        if progress is first or claimed < end - progress.seq:  # others may hold some of it
            claimed = await res.db.cards.claimed_in_range(order_id, seqs)
        packed = claimed > 0
        last = end > batch.last
        after = progress.model_copy(
            update={
                "batch": progress.batch + 1 if last else progress.batch,
                "seq": (progress.plan[progress.batch + 1].first
                        if last and progress.batch + 1 < len(progress.plan) else end),
                "boxes": box if packed else progress.boxes,
                "box_seqs": (progress.box_seqs + [[progress.batch, progress.seq, end]]
                             if packed else progress.box_seqs),
                "cards": progress.cards + claimed,
                "claimed": _add_claimed(progress.claimed, batch, progress.seq, end, claimed),
                "updated_ms": now_ms(),
            }
        )  # fmt: skip
        if not await res.db.fulfillment_orders.advance_cut(order_id, progress, after):
            raise CutSuperseded(order_id)
        progress = after
    return progress


def _add_claimed(
    claimed: list[OrderBatch], batch: OrderBatch, first: int, end: int, count: int
) -> list[OrderBatch]:
    if not count:
        return claimed
    if claimed and claimed[-1].issuance == batch.issuance:
        grown = claimed[-1].model_copy(update={"count": claimed[-1].count + count, "last": end - 1})
        return [*claimed[:-1], grown]
    mine = OrderBatch(
        issuance=batch.issuance, program=batch.program, count=count, first=first, last=end - 1
    )
    return [*claimed, mine]


async def _end_cut(
    res: Resources, order: FulfillmentOrder, progress: CutProgress | None
) -> FulfillmentOrder | None:
    """Records the order's cards by bulk issuance (the cut's exact tally of its claims),
    counts them, and queues the manifest."""
    order_id = str(order.id)
    boxes, batches = (progress.boxes, progress.claimed) if progress else (0, [])
    count = sum(b.count for b in batches)
    if count == 0:
        await res.db.fulfillment_orders.delete_if_empty(order_id)
        return None
    order.batches, order.card_count, order.box_count = batches, count, boxes
    order.cutting = False
    await res.db.fulfillment_orders.end_cut(order_id, batches, count, boxes)
    await tally(res, order, 1)  # crash before it: the submit job tallies the cut
    log.info("fulfillment order %s cut: %d cards in %d boxes (%s)", order_id, count, boxes,
             order.trigger)  # fmt: skip
    await jobs.enqueue_submit_order(res.redis, order_id)
    await announce(
        res,
        order_id,
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
