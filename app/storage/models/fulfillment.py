"""Storage of physical-card fulfillment: configurations, orders, vendor events, cut-offs.

Dialect (see embedded-mongo.md): references are 24-hex strings, times the code compares or
writes with `$set` are epoch milliseconds (`*_ms`), and every "exactly once" is a unique index
or a conditional update, never a transaction.
"""

from datetime import datetime
from typing import Any

from beanie import Document
from pymongo import ASCENDING, IndexModel

from app.storage.models.base import CamelEmbedded, Embedded
from app.storage.models.parts import Address, Shipping
from app.storage.states import (
    CutoffState,
    DeliveryStatus,
    EventType,
    OrderStatus,
    PrinterEventStatus,
    ShippingPolicy,
    SubmissionStatus,
)


class ShippingConfig(Document):
    """Synctera's bulk order configuration: where the parcel of a merchant's cards goes."""

    merchant_id: str
    name: str
    policy: ShippingPolicy
    shipping: Shipping
    return_address: Address | None = None
    created_ms: int
    created_at: datetime

    class Settings:
        name = "shipping_configs"
        indexes = [
            IndexModel([("merchant_id", ASCENDING)]),
            IndexModel([("policy", ASCENDING)]),
        ]


class OrderBatch(Embedded):
    """The order's cards of one bulk issuance: how many, and their first and last seq."""

    issuance: str
    program: str
    count: int
    first: int
    last: int


class ManifestProgress(Embedded):
    """A big manifest's multipart upload so far; `batch`/`seq`: where the next rows start."""

    upload_id: str
    etags: list[str]
    batch: int
    seq: int | None
    rows: int
    updated_ms: int


class CutProgress(Embedded):
    """A cut in progress, box after box: `plan` holds the configuration's batches that had
    cards waiting when the cut began, each over all its seqs (`count` of them, `first` and
    `last`: the box claims take only the waiting cards); the next box starts at seq `seq`
    of `plan[batch]`; `boxes` and `cards` count what is claimed so far, and `claimed` holds it
    by bulk issuance (the count, and the bounds of the boxes that took cards). `box_seqs[n-1]`
    is box n's `[plan index, first seq, end seq)`, so a printer event of one box reads that
    range, not every card of the configuration (empty on orders cut before 2026-12-07)."""

    plan: list[OrderBatch]
    batch: int = 0
    seq: int
    boxes: int = 0
    cards: int = 0
    claimed: list[OrderBatch] = []
    box_seqs: list[list[int]] = []
    updated_ms: int


class BoxTracking(CamelEmbedded):
    """What the printer reported for one box of the order."""

    status: str
    carrier: str | None = None
    tracking_number: str | None = None
    updated_ms: int


class Submission(CamelEmbedded):
    """The order's hand-over to the printer provider."""

    provider: str
    status: SubmissionStatus
    attempts: int = 0
    location: str | None = None
    http_status: int | None = None
    last_error: str | None = None


class WebhookState(CamelEmbedded):
    """The latest merchant webhook delivery of the order."""

    event_id: str | None = None
    type: EventType | None = None
    status: DeliveryStatus
    attempts: int = 0
    last_error: str | None = None
    delivered_at: str | None = None


class FulfillmentOrder(Document):
    """One parcel: every card claimed for it carries `fulfillment.order_id` = this id.

    `changes` numbers the order's changes (`$inc`): each change is one merchant webhook event
    with a stable id. `submission` is the provider's state, `webhook` the latest delivery's.
    """

    merchant_id: str
    shipping_config_id: str
    trigger: ShippingPolicy
    cutoff_ms: int | None = None
    status: OrderStatus
    card_count: int = 0
    # the cut: cards waiting since `cut_bound_ms` are claimed box by box (`cut`), in the
    # request and then, for a big order, in short jobs; `cutting` until every box is claimed
    cut_bound_ms: int | None = None
    cutting: bool = False
    cut: CutProgress | None = None
    box_count: int = 0
    boxes: dict[str, BoxTracking] = {}  # box number → what the printer reported for it
    batches: list[OrderBatch] = []  # set at the cut's end
    manifest_key: str | None = None  # set once the manifest is whole
    manifest_progress: ManifestProgress | None = None
    provider: str
    submission: Submission | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    changes: int = 0
    # the changes (their numbers, as strings) that moved the order's status, each recorded in
    # the same update as the move, and those that moved its cards: a held webhook row of a
    # change is sent only once its change is here (fulfillment/webhooks.py)
    status_changes: dict[str, bool] = {}
    card_changes: dict[str, bool] = {}
    # set before a printer event first moves cards: until then every card is ORDERED, so
    # `cardsByStatus` needs no scan of the order's cards (polling a big order stays cheap)
    cards_moved: bool = False
    # the changes whose card moves are counted on their bulk issuances (fulfillment/tally.py)
    tallied: dict[str, bool] = {}
    # resubmissions of a FAILED order: each round's submit jobs carry the number in their ids
    resubmits: int = 0
    resubmitted_ms: int | None = None
    cancelled_ms: int | None = None
    webhook: WebhookState | None = None
    error: str | None = None
    created_ms: int
    created_at: datetime
    submitted_ms: int | None = None
    shipped_ms: int | None = None
    delivered_ms: int | None = None

    @property
    def program_ids(self) -> list[str]:
        return sorted({batch.program for batch in self.batches})

    def box_range(self, box: int) -> list[str | int] | None:
        """Box `box`'s cards as [program, bulk issuance, first seq, end seq) (None: unknown, an
        order cut before boxes recorded their ranges)."""
        cut = self.cut
        if cut is None or not 1 <= box <= len(cut.box_seqs):
            return None
        index, first, end = cut.box_seqs[box - 1]
        batch = cut.plan[index]
        return [batch.program, batch.issuance, first, end]

    class Settings:
        name = "fulfillment_orders"
        indexes = [
            IndexModel([("merchant_id", ASCENDING), ("shipping_config_id", ASCENDING)]),
            IndexModel([("status", ASCENDING), ("created_ms", ASCENDING)]),
        ]


class FulfillmentEvent(Document):
    """A status event from the printer, kept by its `event_id` (unique): a replay is a no-op."""

    event_id: str
    order_id: str
    status: PrinterEventStatus
    body: dict[str, Any]  # the event as received
    result: dict[str, Any] | None = None  # what the first delivery answered, once applied
    received_ms: int

    class Settings:
        name = "fulfillment_events"
        indexes = [IndexModel([("event_id", ASCENDING)], unique=True)]


class FulfillmentCutoff(Document):
    """The ledger of AUTO cut-offs: one row per (configuration, cut-off instant), unique.

    Whoever inserts the row owns that cut-off; `order_id` is chosen before the insert so a run
    that died is resumed into the same order.
    """

    shipping_config_id: str
    cutoff_ms: int
    order_id: str
    state: CutoffState
    claimed_ms: int

    class Settings:
        name = "fulfillment_cutoffs"
        indexes = [
            IndexModel([("shipping_config_id", ASCENDING), ("cutoff_ms", ASCENDING)], unique=True)
        ]


class PostfixCounter(Document):
    """Per program (`_id` = the program id): the last numeric postfix handed out."""

    id: str  # type: ignore[assignment]
    next: int = 0

    class Settings:
        name = "postfix_counters"
