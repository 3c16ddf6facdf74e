"""`fulfillment` on a physical bulk issuance: its cards per fulfillment status and the least
advanced of them, read from the counters the fulfillment steps keep on the issuance
(fulfillment/tally.py), never from its cards."""

from app.lib.schema import ApiResponse
from app.storage.models import BulkIssuance
from app.storage.states import CardFulfillmentStatus

# least advanced first; a card REJECTED or RETURNED is done with, so a batch is only that
# when all its cards are
PROGRESSION = [
    CardFulfillmentStatus.CREATED,
    CardFulfillmentStatus.ORDERED,
    CardFulfillmentStatus.SHIPPED,
    CardFulfillmentStatus.DELIVERED,
    CardFulfillmentStatus.RETURNED,
    CardFulfillmentStatus.REJECTED,
]


class BatchFulfillmentOut(ApiResponse):
    status: CardFulfillmentStatus
    counts: dict[str, int]

    @classmethod
    def from_issuance(cls, issuance: BulkIssuance, issued: int) -> "BatchFulfillmentOut | None":
        """Digital batches: None. The counters hold the moves out of CREATED, so CREATED is
        the cards issued plus its (negative) entry."""
        if not issuance.is_physical:
            return None
        moved = issuance.fulfillment_counts
        counts = {str(s): max(moved.get(s, 0), 0) for s in PROGRESSION}
        counts[CardFulfillmentStatus.CREATED] = max(issued + moved.get("CREATED", 0), 0)
        status = next((s for s in PROGRESSION if counts[s]), CardFulfillmentStatus.CREATED)
        return cls(status=status, counts=counts)
