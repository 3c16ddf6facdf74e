"""Every state and event type the service stores or sends, as `str` enums.

They compare equal to their values, so documents read back as plain strings match them, and
PyMongo writes them as strings. The OpenAPI document shows each as an enum.
"""

from enum import StrEnum


class TaskStatus(StrEnum):
    """A bulk issuance (its task, for queued ones): pending → running → completed | failed |
    cancelled (POST .../cancel)."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED_TASK = (TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED)
# a queued batch that ended short of its count: the CSV of the cards it did issue follows
STOPPED_TASK = (TaskStatus.FAILED, TaskStatus.CANCELLED)


class TaskType(StrEnum):
    """What a task does: issue a queued batch, switch every card of a batch off or on, or
    write a fresh CSV of a batch's cards (an export)."""

    BULK_ISSUE = "bulk_issue"
    DEACTIVATE = "deactivate"
    ACTIVATE = "activate"
    EXPORT = "export"


class IssuanceMode(StrEnum):
    COUNT = "count"
    RECIPIENTS = "recipients"


class CardStatus(StrEnum):
    """Stored: scheduled (until the batch's `activatesAt`), active or inactive (a batch's
    deactivate / activate). Read: a scheduled card past its `activatesAt` is `active` (its
    batch's one range update may be a moment late), and a card past its `expiresAt` is
    `expired`, whatever it stored (no job rewrites cards as time passes)."""

    SCHEDULED = "scheduled"
    ACTIVE = "active"
    INACTIVE = "inactive"
    EXPIRED = "expired"


SWITCHED_TO = {TaskType.DEACTIVATE: CardStatus.INACTIVE, TaskType.ACTIVATE: CardStatus.ACTIVE}


class NotificationChannel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class NotificationStatus(StrEnum):
    """pending → sending (the intent, recorded before the send) → sent, or failed."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


OPEN_NOTIFICATION = (NotificationStatus.PENDING, NotificationStatus.SENDING)
# a resend starts a new round of tries; not while one is under way (`sending`)
RESENDABLE_NOTIFICATION = (
    NotificationStatus.PENDING,
    NotificationStatus.SENT,
    NotificationStatus.FAILED,
)


class DeliveryStatus(StrEnum):
    """A completion callback's or a merchant webhook's delivery."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class ShippingPolicy(StrEnum):
    """AUTO: fulfilled daily at the cut-off; MANUAL: when the merchant asks."""

    AUTO = "AUTO"
    MANUAL = "MANUAL"


class ShippingMethod(StrEnum):
    """Ours, then Marqeta's (which of them a printer takes: app/domain/fulfillment/providers.py)."""

    STANDARD = "STANDARD"
    TWO_DAY = "TWO_DAY"
    OVERNIGHT = "OVERNIGHT"
    INTERNATIONAL = "INTERNATIONAL"
    USPS_REGULAR = "USPS_REGULAR"
    FEDEX_EXPEDITED = "FEDEX_EXPEDITED"
    UPS_REGULAR = "UPS_REGULAR"
    UPS_EXPEDITED = "UPS_EXPEDITED"


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    SUBMITTED = "SUBMITTED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class CardFulfillmentStatus(StrEnum):
    """A physical card's: CREATED → ORDERED → SHIPPED → DELIVERED, or REJECTED / RETURNED."""

    CREATED = "CREATED"
    ORDERED = "ORDERED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    REJECTED = "REJECTED"
    RETURNED = "RETURNED"


class PrinterEventStatus(StrEnum):
    """What the printer reports."""

    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    REJECTED = "REJECTED"
    RETURNED = "RETURNED"


class PrinterEventOutcome(StrEnum):
    APPLIED = "applied"
    IGNORED = "ignored"
    DUPLICATE = "duplicate"


class SubmissionStatus(StrEnum):
    """An order's hand-over to the printer."""

    PENDING = "pending"
    RETRYING = "retrying"
    SUBMITTED = "submitted"
    FAILED = "failed"


class CutoffState(StrEnum):
    """A row of the AUTO cut-off ledger: claimed → ordered | empty."""

    CLAIMED = "claimed"
    ORDERED = "ordered"
    EMPTY = "empty"


class EventType(StrEnum):
    """What we POST to a merchant's callbackUrl."""

    BULK_ISSUANCE_COMPLETED = "bulk_issuance.completed"
    BULK_ISSUANCE_FAILED = "bulk_issuance.failed"
    BULK_ISSUANCE_CANCELLED = "bulk_issuance.cancelled"
    FULFILLMENT_ORDER_UPDATED = "fulfillment_order.updated"
    CARD_FULFILLMENT_UPDATED = "card.fulfillment.updated"
