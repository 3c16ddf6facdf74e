"""Merchant webhooks of fulfillment: `fulfillment_order.updated` and `card.fulfillment.updated`.

One change of an order is one event per program callback URL, however many cards moved (their
ids travel as one list), signed and retried like the task callback. The event id is stable
(`{orderId}-{change}-...`), so a receiver deduplicates our retries. The latest delivery's state
is on the order (`webhook`).
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.domain.fulfillment.presentation import describe
from app.domain.webhooks.delivery import merchant_secret, post_event
from app.lib import jobs
from app.storage.models import FulfillmentOrder
from app.storage.resources import Resources
from app.storage.states import CardFulfillmentStatus, EventType, OrderStatus

log = logging.getLogger(__name__)
ORDER_EVENT = EventType.FULFILLMENT_ORDER_UPDATED
CARDS_EVENT = EventType.CARD_FULFILLMENT_UPDATED


@dataclass(frozen=True)
class Change:
    """Change `number` of an order: its status `from` → `to` (when it moved), and the status
    its cards moved to (when cards moved). Travels in the webhook jobs as a plain dict."""

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
    """Queues the webhooks of change `number`: `fulfillment_order.updated` when the order's
    status moved, `card.fulfillment.updated` when cards moved to `card_status`."""
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
    urls = await res.db.programs.callback_urls(order.program_ids)
    if not urls:
        return
    order_id = str(order.id)
    if change.to is not None:
        first_per_url = {url: program_id for program_id, url in sorted(urls.items())}
        for program_id in first_per_url.values():
            await jobs.enqueue_fulfillment_webhook(
                res.redis, order_id, ORDER_EVENT.value, program_id, change.to_job()
            )
    if change.card_status is not None:
        for program_id in urls:
            await jobs.enqueue_fulfillment_webhook(
                res.redis, order_id, CARDS_EVENT.value, program_id, change.to_job()
            )


async def deliver(
    res: Resources, order_id: str, event_type: str, program_id: str, change: dict[str, Any]
) -> None:
    """Raises on a failed delivery, so arq retries it."""
    order = await res.db.fulfillment_orders.get(order_id)
    program = await res.db.programs.get(program_id)
    if order is None or program is None or not program.callback_url:
        return
    moved = Change.from_job(change)
    kind = EventType(event_type)
    event_id = f"{order_id}-{moved.number}-" + (
        "order" if kind == ORDER_EVENT else f"cards-{program_id}"
    )
    await res.db.fulfillment_orders.count_webhook_attempt(order_id, event_id, kind)
    described = await describe(res, order, with_link=False)
    data: dict[str, Any]
    if kind == ORDER_EVENT:
        # the status as of this change (a retried delivery may go out after the next one)
        data = {**described.model_dump(mode="json"), "status": _plain(moved.to)}
        data["change"] = moved.public()
    else:
        data = {
            "fulfillmentOrderId": order_id,
            "programId": program_id,
            "status": _plain(moved.card_status),
            "carrier": order.carrier,
            "trackingNumber": order.tracking_number,
            "cardIds": await _card_ids(res, order, program_id, moved),
            "change": moved.number,
        }
    secret = await merchant_secret(res, order.merchant_id)
    await post_event(program.callback_url, secret, event_type, data, event_id=event_id)
    delivered_at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    await res.db.fulfillment_orders.webhook_delivered(order_id, event_id, kind, delivered_at)
    log.info("%s %s delivered for order %s", event_type, event_id, order_id)


async def _card_ids(
    res: Resources, order: FulfillmentOrder, program_id: str, change: Change
) -> list[str]:
    """Exactly the cards this change moved (they carry its number), whatever happened since."""
    if change.card_status is None:
        raise ValueError(f"change {change.number} of order {order.id} moved no cards")
    return await res.db.cards.moved_in_change(
        order.shipping_config_id, str(order.id), program_id, change.card_status, change.number
    )


async def record_failure(
    res: Resources, order_id: str, event_type: str, error: str, final: bool
) -> None:
    await res.db.fulfillment_orders.webhook_failed(order_id, event_type, error, final)
