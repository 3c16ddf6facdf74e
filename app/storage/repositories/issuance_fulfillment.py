"""The bulk_issuances collection's fulfillment counters (part of IssuanceRepository).

Each change of a fulfillment order contributes deltas to the counts of the issuances whose
cards it moved; the contribution applied is stored under the change's key, and replacing it
is a compare-and-set on that stored value, so tallying a change again (a repair, a racing
event) moves the counts only by the difference: never twice.
"""

from typing import Any, NamedTuple

from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection

from app.storage.repositories.filters import exact
from app.storage.states import FINISHED_TASK, CardFulfillmentStatus


class PhysicalBatch(NamedTuple):
    """A physical batch that may still have cards waiting for an order: their seqs lie in
    [0, `seqs`)."""

    issuance: str
    program: str
    seqs: int


class IssuanceFulfillmentQueries:
    @property
    def collection(self) -> AsyncCollection[dict[str, Any]]:
        raise NotImplementedError

    async def physical_batches_waiting(
        self, merchant_id: str, config_id: str
    ) -> list[PhysicalBatch]:
        """The configuration's batches whose counts show cards still CREATED (the issued count
        plus the CREATED entry), in issuance order: a
        cut's plan from the batches, without reading a card (an aggregate of a million cards
        holds nx-27017 past the client's timeout)."""
        query = exact(merchant_id=merchant_id, shipping_config_id=config_id)
        fields = ["program_id", "status", "requested_count", "issued_count", "cards_settled",
                  "fulfillment_counts"]  # fmt: skip
        found = self.collection.find(query, fields).sort("_id", 1)
        batches: list[PhysicalBatch] = []
        async for doc in found:  # a batch still issuing (or counting) may have any seq
            finished = doc["status"] in FINISHED_TASK and doc.get("cards_settled", True)
            seqs = doc["requested_count"]
            made = doc.get("issued_count", 0) if finished else seqs
            moved = (doc.get("fulfillment_counts") or {}).get(CardFulfillmentStatus.CREATED, 0)
            if made + moved > 0:
                batches.append(PhysicalBatch(str(doc["_id"]), doc["program_id"], seqs))
        return batches

    async def fulfillment_tallies(self, issuance_ids: list[str], key: str) -> dict[str, str]:
        """issuance id → the contribution stored under `key` (absent: none yet)."""
        found = self.collection.find(
            {"_id": {"$in": [ObjectId(i) for i in issuance_ids]}},
            {f"fulfillment_tally.{key}": 1},
        )
        tallies: dict[str, str] = {}
        async for doc in found:
            stored = (doc.get("fulfillment_tally") or {}).get(key)
            if stored is not None:
                tallies[str(doc["_id"])] = stored
        return tallies

    async def replace_fulfillment_tally(
        self,
        issuance_id: str,
        key: str,
        seen: str | None,
        tally: str,
        deltas: dict[str, int],
    ) -> bool:
        """Moves the counts by `deltas` and stores `tally` under `key`, only while `key` still
        holds `seen`; False when another tally replaced it first."""
        query: dict[str, Any] = {
            "_id": ObjectId(issuance_id),
            f"fulfillment_tally.{key}": seen if seen is not None else {"$exists": False},
        }
        update: dict[str, Any] = {"$set": {f"fulfillment_tally.{key}": tally}}
        moves = {f"fulfillment_counts.{status}": n for status, n in deltas.items() if n}
        if moves:
            update["$inc"] = moves
        result = await self.collection.update_one(query, update)
        return result.matched_count == 1
