"""Merchant webhooks of fulfillment: `fulfillment_order.updated` and `card.fulfillment.updated`.

One change of an order is one event per program callback URL, however many cards moved (their
ids travel as one list), signed and retried like the task callback. The event id is stable
(`{orderId}-{change}-...`), so a receiver deduplicates our retries.

The events are rows of the webhook outbox (webhooks/outbox.py), written in the same step as the
change, with no Redis in between. There are no transactions, so the order of the writes is what
keeps an event (as for the task callback, issuance/completion_callback.py):
1. the change gets its number (`next_change`); `hold` writes its rows, held back
   (WEBHOOK_HOLD_SECONDS);
2. the change is made, and records itself on the order: a move of the status sets
   `status_changes.<n>` in the same atomic update; moved cards carry `n` (`fulfillment.moves`,
   or `released` for a cancel), and `card_changes.<n>` is set on the order once they moved;
3. `publish` releases the rows of what was made and drops the others.
- A crash before the change: the step runs again (arq's retry, the cron's requeue, the printer's
  resend) as a new change with its own rows; the old rows' change never appears, and their
  render drops them after `ABANDON_MS`.
- A crash after it, before `publish`: the hold runs out and the cron sends the rows.
A held row is never sent for a change that was not made: its render (at send time) finds the
change recorded on the order (or its cards), else postpones it without counting an attempt.
Once made, the row is rendered from the order as it is then (the status and change as of the
change) and stored, so every retry sends the same event; the card event's `cardIds` (up to a
million) are read at each send (`SOURCES`). The latest delivery's state is mirrored on the
order (`webhook`). The cut (change 1) is announced after it (`announce`), and again by every
submit job (the same event ids: nothing new), which runs for any order a cut left.
"""

import logging
from dataclasses import dataclass, field
from typing import Any

from app.domain.fulfillment.presentation import describe
from app.domain.webhooks import outbox
from app.domain.webhooks.outbox import Rendered, Source
from app.lib.types import now_ms
from app.storage.models import FulfillmentOrder, MovedCards, WebhookDelivery, WebhookState
from app.storage.resources import Resources
from app.storage.states import CardFulfillmentStatus, EventType, OrderStatus

log = logging.getLogger(__name__)
ORDER_EVENT = EventType.FULFILLMENT_ORDER_UPDATED
CARDS_EVENT = EventType.CARD_FULFILLMENT_UPDATED
ABANDON_MS = 15 * 60_000  # a held row's change not made by then never will be (its step died)
PENDING_CHANGE = "pendingChange"  # a held row's data until it is rendered: its change


@dataclass(frozen=True)
class Change:
    """Change `number` of an order: its status `from` → `to` (when it moved), and the status
    its cards moved to (when cards moved). Travelled in the webhook jobs of older versions as
    a plain dict."""

    number: int
    from_status: OrderStatus | None
    to: OrderStatus | None
    card_status: CardFulfillmentStatus | None
    # the printer event's own carrier and tracking (a card shipped on its own has its own)
    carrier: str | None = None
    tracking_number: str | None = None
    box: int | None = None  # the box the printer event named, when it named one

    def to_job(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "from": _plain(self.from_status),
            "to": _plain(self.to),
            "cardStatus": _plain(self.card_status),
            "carrier": self.carrier,
            "trackingNumber": self.tracking_number,
            "box": self.box,
        }

    @classmethod
    def from_job(cls, change: dict[str, Any]) -> "Change":
        return cls(
            number=change["number"],
            from_status=None if change["from"] is None else OrderStatus(change["from"]),
            to=None if change["to"] is None else OrderStatus(change["to"]),
            card_status=(
                None
                if change["cardStatus"] is None
                else CardFulfillmentStatus(change["cardStatus"])
            ),
            carrier=change.get("carrier"),
            tracking_number=change.get("trackingNumber"),
            box=change.get("box"),
        )

    def public(self) -> dict[str, Any]:
        """What the order event says of its change."""
        return {"number": self.number, "from": _plain(self.from_status), "to": _plain(self.to)}


def _plain(status: str | None) -> str | None:
    return None if status is None else str(status)


def _change(
    number: int,
    order_change: tuple[OrderStatus | None, OrderStatus] | None,
    card_status: CardFulfillmentStatus | None,
    tracking: tuple[str | None, str | None] = (None, None),
    box: int | None = None,
) -> Change:
    return Change(
        number=number,
        from_status=order_change[0] if order_change else None,
        to=order_change[1] if order_change else None,
        card_status=card_status,
        carrier=tracking[0],
        tracking_number=tracking[1],
        box=box,
    )


@dataclass(frozen=True)
class Held:
    """The outbox rows of change `number`, written before it is made."""

    number: int
    order_rows: list[WebhookDelivery] = field(default_factory=list)
    card_rows: list[WebhookDelivery] = field(default_factory=list)


async def hold(
    res: Resources,
    order_id: str,
    number: int,
    order_change: tuple[OrderStatus | None, OrderStatus] | None,
    card_status: CardFulfillmentStatus | None = None,
    tracking: tuple[str | None, str | None] = (None, None),
    box: int | None = None,
) -> Held:
    """Writes the webhooks of change `number`, about to be made, held back: those of the
    order's status moving (`order_change`) and of its cards moving to `card_status` (with the
    printer event's (carrier, tracking number) and box, when it gave them)."""
    change = _change(number, order_change, card_status, tracking, box)
    return await _write(res, order_id, change, hold_ms(res))


async def publish(
    res: Resources, order_id: str, held: Held, status_moved: bool, cards_moved: bool
) -> None:
    """The change is made (or not): the rows of what moved are due now, the others dropped."""
    await res.db.fulfillment_orders.record_change(order_id, held.number, False, cards_moved)
    if not cards_moved:  # nothing to count on its bulk issuances (fulfillment/tally.py)
        await res.db.fulfillment_orders.mark_tallied(order_id, held.number)
    for rows, made in ((held.order_rows, status_moved), (held.card_rows, cards_moved)):
        for row in rows:
            if made:
                await outbox.release(res, row)
            else:
                await res.db.webhook_deliveries.drop_unsent(str(row.id))


async def announce(
    res: Resources,
    order_id: str,
    number: int,
    order_change: tuple[OrderStatus | None, OrderStatus] | None,
    card_status: CardFulfillmentStatus | None = None,
) -> None:
    """Writes the webhooks of change `number`, made already (the cut), due now: the order's
    status moved (`order_change`), its cards moved to `card_status`. Running it again adds
    nothing."""
    moved = order_change is not None, card_status is not None
    await res.db.fulfillment_orders.record_change(order_id, number, *moved)
    await _write(res, order_id, _change(number, order_change, card_status), 0)


def hold_ms(res: Resources) -> int:
    """How long a row written before its change waits for it (far longer than the step)."""
    return int(res.settings.webhook_hold_seconds * 1000)


async def _write(res: Resources, order_id: str, change: Change, hold_ms: int) -> Held:
    """The change's rows (each once: running this again adds nothing)."""
    held = Held(change.number)
    order = await res.db.fulfillment_orders.get(order_id)
    urls = {} if order is None else await res.db.programs.callback_urls(order.program_ids)
    if order is None or not urls:
        return held
    pending = {PENDING_CHANGE: change.to_job()}
    if change.to is not None:
        first_per_url = {url: program_id for program_id, url in sorted(urls.items())}
        for url, program_id in first_per_url.items():
            row = await _record(res, order, change, ORDER_EVENT, program_id, url, pending, hold_ms)
            held.order_rows.append(row)
    if change.card_status is not None:
        for program_id, url in urls.items():
            row = await _record(res, order, change, CARDS_EVENT, program_id, url, pending, hold_ms)
            held.card_rows.append(row)
    return held


async def ensure_event(
    res: Resources, order_id: str, event_type: str, program_id: str, change: dict[str, Any]
) -> None:
    """The outbox row of one event that an older version queued as a job (the job's args):
    its change was made."""
    order = await res.db.fulfillment_orders.get(order_id)
    urls = await res.db.programs.callback_urls([program_id])
    if order is None or program_id not in urls:
        return
    moved = Change.from_job(change)
    kind = EventType(event_type)
    if kind == ORDER_EVENT:
        data = await _order_data(res, order, moved)
    else:
        data = _cards_data(order, program_id, moved)
    await _record(res, order, moved, kind, program_id, urls[program_id], data)


async def _record(
    res: Resources,
    order: FulfillmentOrder,
    change: Change,
    kind: EventType,
    program_id: str,
    url: str,
    data: dict[str, Any],
    hold_ms: int = 0,
) -> WebhookDelivery:
    order_id = str(order.id)
    suffix = "order" if kind == ORDER_EVENT else f"cards-{program_id}"
    moved_cards = _moved_cards(order, program_id, change) if kind == CARDS_EVENT else None
    delivery = outbox.new_delivery(
        res,
        event_id=f"{order_id}-{change.number}-{suffix}",
        event_type=kind,
        merchant_id=order.merchant_id,
        program_id=program_id,
        url=url,
        subject=order_id,
        data=data,
        moved_cards=moved_cards,
        hold_ms=hold_ms,
    )
    return await outbox.record(res, delivery)


async def _order_data(res: Resources, order: FulfillmentOrder, change: Change) -> dict[str, Any]:
    """The order as of this change (a retried delivery may go out after the next one)."""
    described = await describe(res, order, with_link=False)
    data = described.model_dump(mode="json", exclude={"webhook"})
    return {**data, "status": _plain(change.to), "change": change.public()}


def _cards_data(order: FulfillmentOrder, program_id: str, change: Change) -> dict[str, Any]:
    """The card event without its `cardIds`, which are read when it is sent."""
    return {
        "fulfillmentOrderId": str(order.id),
        "programId": program_id,
        "status": _plain(change.card_status),
        "carrier": change.carrier or order.carrier,
        "trackingNumber": change.tracking_number or order.tracking_number,
        "change": change.number,
    }


def _moved_cards(order: FulfillmentOrder, program_id: str, change: Change) -> MovedCards:
    if change.card_status is None:
        raise ValueError(f"change {change.number} of order {order.id} moved no cards")
    return MovedCards(
        shipping_config_id=order.shipping_config_id,
        order_id=str(order.id),
        program_id=program_id,
        status=change.card_status,
        number=change.number,
        box_range=None if change.box is None else order.box_range(change.box),
    )


async def _awaited(
    res: Resources, delivery: WebhookDelivery
) -> tuple[FulfillmentOrder, Change] | None:
    """A held row's order and change once the change is made; None while it is not (the row
    is postponed); LookupError when it never will be (the row is dropped)."""
    order = await res.db.fulfillment_orders.get(delivery.subject)
    if order is None:
        raise LookupError(f"fulfillment order {delivery.subject} is gone")
    change = Change.from_job(delivery.data[PENDING_CHANGE])
    made = str(change.number) in order.status_changes
    if delivery.type == CARDS_EVENT:
        made = str(change.number) in order.card_changes or bool(await _card_ids(res, delivery))
    if made:
        return order, change
    if now_ms() - delivery.created_ms < ABANDON_MS:
        return None
    await res.db.webhook_deliveries.drop_unsent(str(delivery.id))
    log.info(
        "%s dropped: change %d of order %s was never made",
        delivery.event_id,
        change.number,
        order.id,
    )
    raise LookupError(f"change {change.number} of order {order.id} was never made")


async def render_order(res: Resources, delivery: WebhookDelivery) -> Rendered | None:
    """A held row, once its change is made: the order as of the change, stored."""
    if PENDING_CHANGE not in delivery.data:  # rendered already, or written after the change
        return Rendered(delivery.type, delivery.data)
    awaited = await _awaited(res, delivery)
    if awaited is None:
        return None
    data = await _order_data(res, *awaited)
    return Rendered(delivery.type, data, stored=data)


async def render_cards(res: Resources, delivery: WebhookDelivery) -> Rendered | None:
    """Exactly the cards the change moved (they carry its number), whatever happened since."""
    data, stored = delivery.data, None
    if PENDING_CHANGE in data:
        awaited = await _awaited(res, delivery)
        if awaited is None:
            return None
        order, change = awaited
        data = stored = _cards_data(order, delivery.program_id, change)
    return Rendered(delivery.type, {**data, "cardIds": await _card_ids(res, delivery)}, stored)


async def _card_ids(res: Resources, delivery: WebhookDelivery) -> list[str]:
    moved = delivery.moved_cards
    if moved is None:
        raise LookupError(f"delivery {delivery.id} names no cards")
    return await res.db.cards.moved_in_change(
        moved.shipping_config_id,
        moved.order_id,
        moved.program_id,
        moved.status,
        moved.number,
        moved.box_range,
    )


async def observe(res: Resources, delivery: WebhookDelivery) -> None:
    """The order's `webhook`: the state of its latest delivery attempted."""
    if PENDING_CHANGE in delivery.data:  # never rendered: nothing was sent
        return
    state = WebhookState(
        event_id=delivery.event_id,
        type=delivery.type,
        status=delivery.state,
        attempts=delivery.attempts,
        last_error=delivery.last_error,
        delivered_at=outbox.delivered_at(delivery),
    )
    await res.db.fulfillment_orders.mirror_webhook(delivery.subject, state)


SOURCES = {
    ORDER_EVENT: Source(render=render_order, observe=observe),
    CARDS_EVENT: Source(render=render_cards, observe=observe),
}
