"""The bulk_issuances collection's fulfillment counters (part of IssuanceRepository).

Each change of a fulfillment order contributes deltas to the counts of the issuances whose
cards it moved; the contribution applied is stored under the change's key, and replacing it
is a compare-and-set on that stored value, so tallying a change again (a repair, a racing
event) moves the counts only by the difference: never twice.
"""

from typing import Any

from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection


class IssuanceFulfillmentQueries:
    @property
    def collection(self) -> AsyncCollection[dict[str, Any]]:
        raise NotImplementedError

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
