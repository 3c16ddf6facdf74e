"""The ledger of AUTO cut-offs: one row per (configuration, cut-off instant), unique. Inserting
the row is the claim, so a cut-off is fulfilled once however many workers tick."""

from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from app.lib.types import now_ms
from app.storage.models import FulfillmentCutoff
from app.storage.states import CutoffState


class FulfillmentCutoffRepository:
    @property
    def collection(self) -> AsyncCollection[dict[str, Any]]:
        return FulfillmentCutoff.get_pymongo_collection()

    async def settled_configs(self, cutoff_ms: int) -> set[str]:
        """Ids of the configurations whose cut-off `cutoff_ms` is done (ordered or empty)."""
        return {
            doc["shipping_config_id"]
            async for doc in self.collection.find(
                {"cutoff_ms": cutoff_ms, "state": {"$ne": CutoffState.CLAIMED}},
                {"shipping_config_id": 1},
            )
        }

    async def claim(
        self, config_id: str, cutoff_ms: int, stale_ms: int
    ) -> FulfillmentCutoff | None:
        """The ledger row if this run owns the cut-off: freshly inserted (naming the order id
        before the cut), or a claim older than `stale_ms` (its run died: resumed into the same
        order). None when another run owns it or it is settled."""
        row: dict[str, Any] = {
            "shipping_config_id": config_id,
            "cutoff_ms": cutoff_ms,
            "order_id": str(ObjectId()),
            "state": CutoffState.CLAIMED,
            "claimed_ms": now_ms(),
        }
        try:
            inserted = await self.collection.insert_one(row)
        except DuplicateKeyError:
            pass
        else:
            claimed: FulfillmentCutoff = FulfillmentCutoff.model_validate(
                {**row, "_id": inserted.inserted_id}
            )
            return claimed
        taken = await self.collection.find_one_and_update(
            {
                "shipping_config_id": config_id,
                "cutoff_ms": cutoff_ms,
                "state": CutoffState.CLAIMED,
                "claimed_ms": {"$lt": now_ms() - stale_ms},
            },
            {"$set": {"claimed_ms": now_ms()}},
            return_document=ReturnDocument.AFTER,
        )
        return None if taken is None else FulfillmentCutoff.model_validate(taken)

    async def release(self, row: FulfillmentCutoff) -> None:
        """Lets the next tick resume a claimed cut-off now, not once the claim is stale."""
        await self.collection.update_one(
            {"_id": row.id, "state": CutoffState.CLAIMED}, {"$set": {"claimed_ms": 0}}
        )

    async def settle(self, row: FulfillmentCutoff, state: CutoffState) -> None:
        """claimed → ordered | empty."""
        await self.collection.update_one({"_id": row.id}, {"$set": {"state": state}})
