"""The status changes of bulk issuances (deactivate / activate): every query of the
`status_changes` collection. Their chains are kept like the issuing chain's (issuances.py)."""

from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from app.lib.types import now_ms, utcnow
from app.storage.models import StatusChange
from app.storage.repositories import job_chains
from app.storage.repositories.job_chains import StaleTask
from app.storage.states import FINISHED_TASK, TaskStatus

_UNFINISHED = {"$nin": list(FINISHED_TASK)}


class StatusChangeRepository:
    @property
    def collection(self) -> AsyncCollection[dict[str, Any]]:
        return StatusChange.get_pymongo_collection()

    async def insert(self, change: StatusChange) -> None:
        await change.insert()

    async def delete(self, change_id: str) -> None:
        await self.collection.delete_one({"_id": ObjectId(change_id)})

    async def get(self, change_id: str) -> StatusChange | None:
        return await StatusChange.get(ObjectId(change_id))

    async def of_merchant(self, merchant_id: str, change_id: str) -> StatusChange | None:
        return await StatusChange.find_one({"_id": ObjectId(change_id), "merchant_id": merchant_id})

    # ----------------------------------------------------------------- the chain

    async def mark_running(self, change_id: str) -> None:
        await self.collection.update_one(
            {"_id": ObjectId(change_id), "status": TaskStatus.PENDING},
            {"$set": {"status": TaskStatus.RUNNING, "started_at": utcnow()}},
        )

    async def beat(self, change_id: str) -> None:
        await self.collection.update_one(
            {"_id": ObjectId(change_id)}, {"$set": {"heartbeat_ms": now_ms()}}
        )

    async def raise_done(self, change_id: str, seq: int) -> None:
        """Progress only rises (`$max`), whichever run records it."""
        await self.collection.update_one({"_id": ObjectId(change_id)}, {"$max": {"done_seq": seq}})

    async def complete(self, change_id: str) -> bool:
        """Completed once: False when it had finished already."""
        finished = await self.collection.find_one_and_update(
            {"_id": ObjectId(change_id), "status": _UNFINISHED},
            {
                "$set": {
                    "status": TaskStatus.COMPLETED,
                    "completed_at": utcnow(),
                    "heartbeat_ms": now_ms(),
                    "error": None,
                }
            },
        )
        return finished is not None

    async def hand_off(self, change_id: str, from_job: str, step: int, job: str) -> bool:
        """Names `job` the owner of step `step`, only while `from_job` still owns the change."""
        moved = await self.collection.update_one(
            {"_id": ObjectId(change_id), "current_job": from_job},
            {"$set": {"step": step, "current_job": job, "heartbeat_ms": now_ms()}},
        )
        return bool(moved.modified_count)

    async def fail(self, change_id: str, reason: str) -> StatusChange | None:
        """The change as it failed; None when it had finished already."""
        failed = await self.collection.find_one_and_update(
            {"_id": ObjectId(change_id), "status": _UNFINISHED},
            {"$set": {"status": TaskStatus.FAILED, "error": reason, "completed_at": utcnow()}},
            return_document=ReturnDocument.AFTER,
        )
        return None if failed is None else StatusChange.model_validate(failed)

    async def note_error(self, change_id: str, reason: str) -> None:
        await self.collection.update_one({"_id": ObjectId(change_id)}, {"$set": {"error": reason}})

    # ----------------------------------------------------------------- an export's CSV

    async def claim_export_upload(self, change_id: str, upload_id: str) -> str:
        """Names `upload_id` the export's multipart upload unless a run named one first: the
        one named (two runs racing both write under it)."""
        await self.collection.update_one(
            {"_id": ObjectId(change_id), "csv_upload_id": None},
            {"$set": {"csv_upload_id": upload_id}},
        )
        found = await self.collection.find_one({"_id": ObjectId(change_id)}, {"csv_upload_id": 1})
        return str((found or {}).get("csv_upload_id") or upload_id)

    async def record_export_part(self, change_id: str, part: int, etag: str, seq: int) -> None:
        await self.collection.update_one(
            {"_id": ObjectId(change_id)},
            {"$set": {f"csv_parts.{part}": etag}, "$max": {"done_seq": seq}},
        )

    # ----------------------------------------------------------------- the sweeper

    async def stale(self, queue: str, stale_before_ms: int, limit: int) -> list[StaleTask]:
        query = {"queue": queue, "status": {"$in": [TaskStatus.PENDING, TaskStatus.RUNNING]}}
        return await job_chains.find_stale(self.collection, query, stale_before_ms, limit)

    async def take_over(self, task: StaleTask, job_id: str) -> bool:
        """Names `job_id` the owner (one recovery more), unless the change moved meanwhile."""
        return await job_chains.take_over(self.collection, task, job_id)
