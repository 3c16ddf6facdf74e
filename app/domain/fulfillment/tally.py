"""Fulfillment counts on the bulk issuance (NymCard: "the fulfillment_status field of the card
object and the bulk issuance object is updated"), kept by `$inc`, never by scanning a batch's
cards on a read.

Each change of an order that moves cards (the cut, a printer event, a cancel) is tallied right
after its cards moved: its moves are counted per bulk issuance (an order spans every issuance
whose cards waited for its configuration) from the cards that carry the change's number, and
each issuance's counts move by the difference from what the change contributed before
(stored on the issuance under the change's key, replaced by compare-and-set). So a change
tallied twice, or by two callers at once, counts once; a printer event replayed is a duplicate
(by `eventId`) and tallies nothing.

There are no transactions: a crash between the cards' move and the tally leaves the change
untallied on the order (`tallied`). `settle` tallies every earlier change not recorded there:
it runs before each printer event and cancel of the order (a printer resends an event that got
no answer, and it is applied again after a while) and in the submit job (the cut). Re-tallying
an old change is exact because the cards keep the number of each move (`moves`, `released`).
"""

import logging

from app.storage.models import FulfillmentOrder
from app.storage.repositories.card_fulfillment import BoxRange
from app.storage.resources import Resources
from app.storage.states import CardFulfillmentStatus as S

log = logging.getLogger(__name__)
ATTEMPTS = 5
Deltas = dict[str, int]

# the status a change moved cards to → the status they left
LEFT: dict[S, S] = {S.SHIPPED: S.ORDERED, S.REJECTED: S.ORDERED, S.CREATED: S.ORDERED}
# … or, where two were possible: (the one the card had reached, else the other)
LEFT_EITHER: dict[S, tuple[S, S]] = {
    S.DELIVERED: (S.SHIPPED, S.ORDERED),
    S.RETURNED: (S.DELIVERED, S.SHIPPED),
}
ANY_MOVE = [S.SHIPPED, S.DELIVERED, S.REJECTED, S.RETURNED, S.CREATED]


def key_of(order_id: str, number: int) -> str:
    return f"{order_id}_{number}"


def encode(deltas: Deltas) -> str:
    return ",".join(f"{status}:{n}" for status, n in sorted(deltas.items()) if n)


def decode(stored: str | None) -> Deltas:
    if not stored:
        return {}
    pairs = (item.rsplit(":", 1) for item in stored.split(","))
    return {status: int(n) for status, n in pairs}


async def tally(
    res: Resources,
    order: FulfillmentOrder,
    number: int,
    status: S | None = None,
    box_range: BoxRange | None = None,
) -> None:
    """Counts change `number` of the order (its cards moved to `status`; None: look for it;
    the change of one box: of `box_range` only) on the bulk issuances of its cards, and
    records it tallied."""
    order_id = str(order.id)
    key = key_of(order_id, number)
    issuances = [batch.issuance for batch in order.batches]
    for _ in range(ATTEMPTS):
        seen = await res.db.issuances.fulfillment_tallies(issuances, key)  # before counting
        moves = await _moves(res, order, number, status, box_range)
        replaced = [
            await _replace(res, issuance, key, seen.get(issuance), moves.get(issuance, {}))
            for issuance in sorted(set(issuances) | set(moves))
        ]
        if all(replaced):
            await res.db.fulfillment_orders.mark_tallied(order_id, number)
            return
    log.warning("order %s: change %d not tallied (contended); left for settle", order_id, number)


async def settle(res: Resources, order: FulfillmentOrder, below: int) -> None:
    """Tallies the order's changes before `below` that a crash left untallied."""
    for number in range(1, min(below, order.changes + 1)):
        if str(number) not in order.tallied:
            log.info("order %s: tallying change %d (repair)", order.id, number)
            await tally(res, order, number)


async def _replace(
    res: Resources, issuance: str, key: str, seen: str | None, deltas: Deltas
) -> bool:
    before = decode(seen)
    if before == {k: v for k, v in deltas.items() if v}:
        return True
    difference = {s: deltas.get(s, 0) - before.get(s, 0) for s in set(deltas) | set(before)}
    return await res.db.issuances.replace_fulfillment_tally(
        issuance, key, seen, encode(deltas), difference
    )


async def _moves(
    res: Resources,
    order: FulfillmentOrder,
    number: int,
    status: S | None,
    box_range: BoxRange | None = None,
) -> dict[str, Deltas]:
    """bulk issuance id → the change's deltas to its counts."""
    if number == 1:  # the cut: its batches say how many cards of each issuance it claimed
        return {b.issuance: {S.CREATED: -b.count, S.ORDERED: b.count} for b in order.batches}
    moves: dict[str, Deltas] = {}
    for to in [status] if status is not None else ANY_MOVE:
        for issuance, deltas in (await _moves_to(res, order, number, to, box_range)).items():
            merged = moves.setdefault(issuance, {})
            for s, n in deltas.items():
                merged[s] = merged.get(s, 0) + n
    return moves


async def _moves_to(
    res: Resources, order: FulfillmentOrder, number: int, to: S, box_range: BoxRange | None
) -> dict[str, Deltas]:
    cards, config, order_id = res.db.cards, order.shipping_config_id, str(order.id)
    moved = await cards.moved_by_issuance(config, order_id, to, number, box_range=box_range)
    if to in LEFT:
        return {i: {LEFT[to]: -n, to: n} for i, n in moved.items()}
    if to not in LEFT_EITHER:
        return {}
    reached, otherwise = LEFT_EITHER[to]
    via = (
        await cards.moved_by_issuance(config, order_id, to, number, reached, box_range)
        if moved
        else {}
    )
    return {
        i: {reached: -via.get(i, 0), otherwise: via.get(i, 0) - n, to: n} for i, n in moved.items()
    }
