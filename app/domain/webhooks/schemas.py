"""The webhook deliveries as the API shows them (camelCase on the wire)."""

from datetime import UTC, datetime
from typing import Any

from app.lib.schema import ApiResponse
from app.lib.types import UtcDatetime
from app.storage.models import WebhookDelivery
from app.storage.states import DeliveryStatus, EventType


def _from_ms(epoch_ms: int | None) -> datetime | None:
    return None if epoch_ms is None else datetime.fromtimestamp(epoch_ms / 1000, UTC)


class WebhookDeliveryOut(ApiResponse):
    """One event to one URL. `id` names the delivery (to redeliver it); `eventId` is the
    event's own id, the `id` of the body sent, the same on every attempt. `data` is what the
    event carries as stored: a task's `csvDownloadUrl` (signed afresh) and a card event's
    `cardIds` are added when it is sent. `nextAttemptAt` is set while it is pending."""

    id: str
    event_id: str
    type: EventType
    url: str
    state: DeliveryStatus
    attempts: int
    next_attempt_at: UtcDatetime | None
    last_error: str | None
    last_status_code: int | None
    created_at: UtcDatetime
    delivered_at: UtcDatetime | None
    data: dict[str, Any]

    @classmethod
    def from_delivery(cls, delivery: WebhookDelivery) -> "WebhookDeliveryOut":
        pending = delivery.state == DeliveryStatus.PENDING
        return cls(
            id=str(delivery.id),
            event_id=delivery.event_id,
            type=delivery.type,
            url=delivery.url,
            state=delivery.state,
            attempts=delivery.attempts,
            next_attempt_at=_from_ms(delivery.next_attempt_ms) if pending else None,
            last_error=delivery.last_error,
            last_status_code=delivery.last_status_code,
            created_at=delivery.created_at,
            delivered_at=_from_ms(delivery.delivered_ms),
            data=delivery.data,
        )
