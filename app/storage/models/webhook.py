"""The webhook outbox: every event we POST to a merchant (task callbacks, fulfillment webhooks),
kept until it is delivered or given up on, so a lost Redis or a crashed worker loses none.

Dialect (see embedded-mongo.md): times the workers compare or `$set` are epoch milliseconds
(`*_ms`); "created once" is the unique index on `event_id`, never a transaction.
"""

from datetime import datetime
from typing import Any

from beanie import Document
from pymongo import ASCENDING, IndexModel

from app.storage.models.base import Embedded
from app.storage.states import CardFulfillmentStatus, DeliveryStatus, EventType


class MovedCards(Embedded):
    """card.fulfillment.updated: the cards change `number` of an order moved to `status`. Their
    ids (up to a million) are read at send time, not stored on the delivery."""

    shipping_config_id: str
    order_id: str
    program_id: str
    status: CardFulfillmentStatus
    number: int
    box_range: list[str | int] | None = None  # one box's change: its seqs (FulfillmentOrder)


class WebhookDelivery(Document):
    """One event to one URL. `_id` is an ObjectId (the API's delivery id, the list's cursor);
    `event_id` is the event's own stable id, the body's `id` on every attempt: unique with
    the URL (an order's event goes to each of its programs' URLs under one id).

    `subject` is the task's bulk issuance or the order the event is about. `data` is what the
    event carries, as stored: a presigned link or a card-id list is added when it is sent.
    `lease_until_ms`: a worker sending it holds it until then, so no two send it at once.
    """

    event_id: str
    merchant_id: str
    program_id: str
    type: EventType
    url: str
    subject: str
    round: int = 1  # a task finished again (resumed after failing) announces a new event
    data: dict[str, Any]
    moved_cards: MovedCards | None = None
    queue: str  # the arq queue of the deployment whose workers send it
    state: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    next_attempt_ms: int
    lease_until_ms: int = 0
    retry_until_ms: int  # retried until then: WEBHOOK_RETRY_SPAN_SECONDS after its creation
    last_error: str | None = None
    last_status_code: int | None = None
    created_ms: int
    created_at: datetime
    delivered_ms: int | None = None

    class Settings:
        name = "webhook_deliveries"
        indexes = [
            IndexModel([("event_id", ASCENDING), ("url", ASCENDING)], unique=True),
            # the workers' question: what is due now on my queue
            IndexModel(
                [("queue", ASCENDING), ("state", ASCENDING), ("next_attempt_ms", ASCENDING)]
            ),
            # the merchant's list (newest first: by `_id`, which nx-27017 cannot have in a
            # compound index), all or by state; and the 410 rule's "its other pending
            # deliveries to that URL"
            IndexModel([("merchant_id", ASCENDING), ("state", ASCENDING), ("url", ASCENDING)]),
            IndexModel([("subject", ASCENDING), ("round", ASCENDING)]),
        ]
