"""The queued batch's parts (domain/issuance/parts.py): leases, progress, and done parts, each
one atomic update of the batch's document."""

from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from app.storage.models import BulkIssuance
from app.storage.states import TaskStatus


def run_filter(resumes: int) -> Any:
    """Matches the run `resumes` of a batch (batches from before resumes existed: run 0)."""
    return resumes if resumes else {"$in": [0, None]}


class IssuancePartQueries:
    @property
    def collection(self) -> AsyncCollection[dict[str, Any]]:
        raise NotImplementedError

    async def claim_part(
        self, issuance_id: str, resumes: int, part: int, lane: str, now_ms: int, until_ms: int
    ) -> BulkIssuance | None:
        """Leases open part `part` to `lane` until `until_ms` (renewing its own lease), while
        the batch runs in run `resumes`: the batch as it is then, or None if the part is done,
        another lane's lease is live, or the batch stopped or was resumed since."""
        key = f"part_claims.{part}"
        open_part = {
            "_id": ObjectId(issuance_id),
            "status": TaskStatus.RUNNING,
            "resumes": run_filter(resumes),
            f"csv_parts.{part}": {"$exists": False},
        }
        free = [
            {key: {"$exists": False}},
            {f"{key}.holder": lane},
            {f"{key}.until_ms": {"$lt": now_ms}},
        ]
        claimed = await self.collection.find_one_and_update(
            # `$and` around the `$or`: nx-27017 writes a `$or` beside other fields into SQL
            # unbracketed (`_id = ? AND ... OR ...`), which matched and leased another batch
            {"$and": [open_part, {"$or": free}]},
            {"$set": {key: {"holder": lane, "until_ms": until_ms}, "heartbeat_ms": now_ms}},
            return_document=ReturnDocument.AFTER,
        )
        return None if claimed is None else BulkIssuance.model_validate(claimed)

    async def raise_part(self, issuance_id: str, part: int, issued: int) -> BulkIssuance | None:
        """Part `part` has `issued` cards from its start (only rises): the batch after."""
        raised = await self.collection.find_one_and_update(
            {"_id": ObjectId(issuance_id)},
            {"$max": {f"part_issued.{part}": issued}},
            return_document=ReturnDocument.AFTER,
        )
        return None if raised is None else BulkIssuance.model_validate(raised)

    async def finish_part(
        self, issuance_id: str, resumes: int, part: int, size: int, etag: str
    ) -> BulkIssuance | None:
        """Part `part` is done: its cards exist and its CSV part is uploaded as `etag`. Only in
        run `resumes` (a resumed batch writes a new upload). The batch after."""
        finished = await self.collection.find_one_and_update(
            {"_id": ObjectId(issuance_id), "resumes": run_filter(resumes)},
            {
                "$set": {f"csv_parts.{part}": etag},
                "$unset": {f"part_claims.{part}": ""},
                "$max": {f"part_issued.{part}": size},
            },
            return_document=ReturnDocument.AFTER,
        )
        return None if finished is None else BulkIssuance.model_validate(finished)

    async def release_parts(self, issuance_id: str, lane: str) -> None:
        """Ends every lease `lane` holds (a helper that gave up), so another lane takes the
        part at once instead of when the lease would have lapsed."""
        found = await self.collection.find_one({"_id": ObjectId(issuance_id)}, {"part_claims": 1})
        for part, claim in ((found or {}).get("part_claims") or {}).items():
            if claim.get("holder") == lane:
                await self.collection.update_one(
                    {"_id": ObjectId(issuance_id), f"part_claims.{part}.holder": lane},
                    {"$unset": {f"part_claims.{part}": ""}},
                )

    async def queue_helpers(self, issuance_id: str, seen: int, recoveries: int) -> bool:
        """The helper lanes of this recovery are queued once: True for whoever names it."""
        named = await self.collection.update_one(
            {"_id": ObjectId(issuance_id), "helpers_queued": {"$in": [seen, None]}},
            {"$set": {"helpers_queued": recoveries}},
        )
        return bool(named.modified_count)
