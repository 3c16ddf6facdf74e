"""Merchant webhooks of fulfillment: `fulfillment_order.updated` and `card.fulfillment.updated`.

One change of an order is one event per program callback URL, however many cards moved (their
ids travel as one list), signed and retried like the task callback. The event id is stable
(`{orderId}-{change}-...`), so a receiver deduplicates our retries.

`announce` writes the events to the webhook outbox (webhooks/outbox.py), which sends them.
It runs right after the change it announces, with no Redis in between: a queue that loses its
jobs loses no event (the cron sends the rows). The order event's data is the order as of the
change, stored with the row; the card event stores which change moved which cards, and its
`cardIds` (up to a million) are read when it is sent (`SOURCES`). The latest delivery's state
is mirrored on the order (`webhook`).
"""

import logging
from dataclasses import dataclass
from typing import Any

from app.domain.fulfillment.presentation import describe
from app.domain.webhooks import outbox
from app.domain.webhooks.outbox import Rendered, Source
from app.storage.models import FulfillmentOrder, MovedCards, WebhookDelivery, WebhookState
from app.storage.resources import Resources
from app.storage.states import CardFulfillmentStatus, EventType, OrderStatus

log = logging.getLogger(__name__)
ORDER_EVENT = EventType.FULFILLMENT_ORDER_UPDATED
CARDS_EVENT = EventType.CARD_FULFILLMENT_UPDATED


@dataclass(frozen=True)
class Change:
    """Change `number` of an order: its status `from` → `to` (when it moved), and the status
    its cards moved to (when cards moved). Travelled in the webhook jobs of older versions as
    a plain dict."""

    number: int
    from_status: OrderStatus | None
    to: OrderStatus | None
    card_status: CardFulfillmentStatus | None

    def to_job(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "from": _plain(self.from_status),
            "to": _plain(self.to),
            "cardStatus": _plain(self.card_status),
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
        )

    def public(self) -> dict[str, Any]:
        """What the order event says of its change."""
        return {"number": self.number, "from": _plain(self.from_status), "to": _plain(self.to)}


def _plain(status: str | None) -> str | None:
    return None if status is None else str(status)


async def announce(
    res: Resources,
    order_id: str,
    number: int,
    order_change: tuple[OrderStatus | None, OrderStatus] | None,
    card_status: CardFulfillmentStatus | None = None,
) -> None:
    """Writes the webhooks of change `number` to the outbox: `fulfillment_order.updated` when
    the order's status moved, `card.fulfillment.updated` when cards moved to `card_status`."""
    order = await res.db.fulfillment_orders.get(order_id)
    if order is not None:
        change = Change(
            number=number,
            from_status=order_change[0] if order_change else None,
            to=order_change[1] if order_change else None,
            card_status=card_status,
        )
        await queue_change(res, order, change)


async def queue_change(res: Resources, order: FulfillmentOrder, change: Change) -> None:
    """Writes the change's events to the outbox (each once: running this again adds nothing)."""
    urls = await res.db.programs.callback_urls(order.program_ids)
    if not urls:
        return
    if change.to is not None:
        first_per_url = {url: program_id for program_id, url in sorted(urls.items())}
        data = await _order_data(res, order, change)
        for url, program_id in first_per_url.items():
            await _record(res, order, change, ORDER_EVENT, program_id, url, data)
    if change.card_status is not None:
        for program_id, url in urls.items():
            await _record(res, order, change, CARDS_EVENT, program_id, url)


async def ensure_event(
    res: Resources, order_id: str, event_type: str, program_id: str, change: dict[str, Any]
) -> None:
    """The outbox row of one event that an older version queued as a job (the job's args)."""
    order = await res.db.fulfillment_orders.get(order_id)
    urls = await res.db.programs.callback_urls([program_id])
    if order is None or program_id not in urls:
        return
    moved = Change.from_job(change)
    kind = EventType(event_type)
    data = await _order_data(res, order, moved) if kind == ORDER_EVENT else None
    await _record(res, order, moved, kind, program_id, urls[program_id], data)


async def _record(
    res: Resources,
    order: FulfillmentOrder,
    change: Change,
    kind: EventType,
    program_id: str,
    url: str,
    data: dict[str, Any] | None = None,
) -> None:
    order_id = str(order.id)
    suffix = "order" if kind == ORDER_EVENT else f"cards-{program_id}"
    moved_cards = None
    if kind == CARDS_EVENT:
        moved_cards = _moved_cards(order, program_id, change)
        data = _cards_data(order, program_id, change)
    delivery = outbox.new_delivery(
        res,
        event_id=f"{order_id}-{change.number}-{suffix}",
        event_type=kind,
        merchant_id=order.merchant_id,
        program_id=program_id,
        url=url,
        subject=order_id,
        data=data or {},
        moved_cards=moved_cards,
    )
    await outbox.record(res, delivery)


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
        "carrier": order.carrier,
        "trackingNumber": order.tracking_number,
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
    )


async def render_cards(res: Resources, delivery: WebhookDelivery) -> Rendered:
    """Exactly the cards the change moved (they carry its number), whatever happened since."""
    moved = delivery.moved_cards
    if moved is None:
        raise LookupError(f"delivery {delivery.id} names no cards")
    card_ids = await res.db.cards.moved_in_change(
        moved.shipping_config_id, moved.order_id, moved.program_id, moved.status, moved.number
    )
    return Rendered(delivery.type, {**delivery.data, "cardIds": card_ids})


async def observe(res: Resources, delivery: WebhookDelivery) -> None:
    """The order's `webhook`: the state of its latest delivery attempted."""
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
    ORDER_EVENT: Source(observe=observe),
    CARDS_EVENT: Source(render=render_cards, observe=observe),
}
