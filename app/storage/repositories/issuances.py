"""The bulk issuances (and their tasks): every query of the `bulk_issuances` collection."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from app.lib.types import now_ms, utcnow
from app.storage.models import BulkIssuance
from app.storage.repositories.paging import newest_first_page
from app.storage.states import FINISHED_TASK, DeliveryStatus, IssuanceMode, TaskStatus

_UNFINISHED = {"$nin": list(FINISHED_TASK)}


@dataclass(frozen=True)
class StaleTask:
    """A queued batch whose chain of jobs may have broken (the sweeper's view of it)."""

    id: str
    step: int
    current_job: str | None
    recoveries: int
    error: str | None


@dataclass(frozen=True)
class OpenRecipientBatch:
    id: str
    program_id: str
    status: TaskStatus


class IssuanceRepository:
    @property
    def collection(self) -> AsyncCollection[dict[str, Any]]:
        return BulkIssuance.get_pymongo_collection()

    # ----------------------------------------------------------------- create, read, list

    async def insert(self, issuance: BulkIssuance) -> None:
        await issuance.insert()

    async def delete(self, issuance_id: str) -> None:
        await self.collection.delete_one({"_id": ObjectId(issuance_id)})

    async def get(self, issuance_id: str) -> BulkIssuance | None:
        return await BulkIssuance.get(ObjectId(issuance_id))

    async def of_merchant(self, merchant_id: str, issuance_id: str) -> BulkIssuance | None:
        return await BulkIssuance.find_one(
            {"_id": ObjectId(issuance_id), "merchant_id": merchant_id}
        )

    async def task_of_merchant(self, merchant_id: str, task_id: str) -> BulkIssuance | None:
        return await BulkIssuance.find_one(
            {"task_id": task_id, "merchant_id": merchant_id, "is_async": True}
        )

    async def page_for_program(
        self, merchant_id: str, program_id: str, limit: int, cursor: str | None
    ) -> tuple[list[BulkIssuance], str | None]:
        query = {"merchant_id": merchant_id, "program_id": program_id}
        return await newest_first_page(BulkIssuance, query, limit, cursor)

    async def program_ids(self, issuance_ids: list[str]) -> dict[str, str]:
        """issuance id → its program id."""
        found = self.collection.find(
            {"_id": {"$in": [ObjectId(i) for i in issuance_ids]}}, {"program_id": 1}
        )
        return {str(doc["_id"]): doc["program_id"] async for doc in found}

    # ----------------------------------------------------------------- the queued batch

    async def mark_running(self, issuance_id: str) -> None:
        await self.collection.update_one(
            {"_id": ObjectId(issuance_id), "status": TaskStatus.PENDING},
            {"$set": {"status": TaskStatus.RUNNING, "started_at": utcnow()}},
        )

    async def beat(self, issuance_id: str) -> None:
        await self.collection.update_one(
            {"_id": ObjectId(issuance_id)}, {"$set": {"heartbeat_ms": now_ms()}}
        )

    async def raise_issued(self, issuance_id: str, issued: int) -> None:
        """Progress only rises (`$max`), whichever run records it."""
        await self.collection.update_one(
            {"_id": ObjectId(issuance_id)}, {"$max": {"issued_count": issued}}
        )

    async def record_csv_part(self, issuance_id: str, part: int, etag: str) -> None:
        await self.collection.update_one(
            {"_id": ObjectId(issuance_id)}, {"$set": {f"csv_parts.{part}": etag}}
        )

    async def claim_csv_upload(self, issuance_id: str, upload_id: str, key: str) -> bool:
        """Names `upload_id` as the issuance's CSV upload unless another run named one first."""
        claimed = await self.collection.find_one_and_update(
            {"_id": ObjectId(issuance_id), "csv_upload_id": None},
            {"$set": {"csv_upload_id": upload_id, "csv_key": key}},
        )
        return claimed is not None

    async def csv_upload_id(self, issuance_id: str) -> str:
        current = await self.collection.find_one(
            {"_id": ObjectId(issuance_id)}, {"csv_upload_id": 1}
        )
        if current is None or not current.get("csv_upload_id"):
            raise LookupError(f"bulk issuance {issuance_id} has no CSV upload")
        return str(current["csv_upload_id"])

    async def complete(self, issuance_id: str, csv_key: str) -> bool:
        """Completed once: False when it had finished already."""
        finished = await self.collection.find_one_and_update(
            {"_id": ObjectId(issuance_id), "status": _UNFINISHED},
            {
                "$set": {
                    "status": TaskStatus.COMPLETED,
                    "csv_key": csv_key,
                    "completed_at": utcnow(),
                    "heartbeat_ms": now_ms(),
                    "error": None,
                }
            },
        )
        return finished is not None

    async def hand_off(self, issuance_id: str, from_job: str, step: int, job: str) -> bool:
        """Names `job` the owner of step `step`, only while `from_job` still owns the task."""
        moved = await self.collection.update_one(
            {"_id": ObjectId(issuance_id), "current_job": from_job},
            {"$set": {"step": step, "current_job": job, "heartbeat_ms": now_ms()}},
        )
        return bool(moved.modified_count)

    async def fail(self, issuance_id: str, reason: str) -> BulkIssuance | None:
        """The issuance as it failed; None when it had finished already."""
        failed = await self.collection.find_one_and_update(
            {"_id": ObjectId(issuance_id), "status": _UNFINISHED},
            {"$set": {"status": TaskStatus.FAILED, "error": reason, "completed_at": utcnow()}},
            return_document=ReturnDocument.AFTER,
        )
        return None if failed is None else BulkIssuance.model_validate(failed)

    async def note_error(self, issuance_id: str, reason: str) -> None:
        await self.collection.update_one(
            {"_id": ObjectId(issuance_id)}, {"$set": {"error": reason}}
        )

    # ----------------------------------------------------------------- the sweeper

    async def stale_tasks(self, queue: str, stale_before_ms: int, limit: int) -> list[StaleTask]:
        cursor = self.collection.find(
            {
                "is_async": True,
                "queue": queue,
                "status": {"$in": [TaskStatus.PENDING, TaskStatus.RUNNING]},
                "heartbeat_ms": {"$lt": stale_before_ms},
            },
            {"step": 1, "current_job": 1, "recoveries": 1, "error": 1},
        ).limit(limit)
        return [
            StaleTask(
                id=str(doc["_id"]),
                step=doc["step"],
                current_job=doc.get("current_job"),
                recoveries=doc["recoveries"],
                error=doc.get("error"),
            )
            async for doc in cursor
        ]

    async def take_over(self, task: StaleTask, job_id: str) -> bool:
        """Names `job_id` the owner (one recovery more), unless the task moved meanwhile."""
        claimed = await self.collection.update_one(
            {"_id": ObjectId(task.id), "current_job": task.current_job},
            {
                "$set": {
                    "current_job": job_id,
                    "recoveries": task.recoveries + 1,
                    "heartbeat_ms": now_ms(),
                }
            },
        )
        return bool(claimed.modified_count)

    async def open_recipient_batches(self, created_since: datetime) -> list[OpenRecipientBatch]:
        found = self.collection.find(
            {
                "mode": IssuanceMode.RECIPIENTS,
                "notifications_open": True,
                "created_at": {"$gte": created_since},
            },
            {"program_id": 1, "status": 1},
        )
        return [
            OpenRecipientBatch(str(doc["_id"]), doc["program_id"], TaskStatus(doc["status"]))
            async for doc in found
        ]

    async def close_notifications(self, issuance_id: str) -> None:
        await self.collection.update_one(
            {"_id": ObjectId(issuance_id)}, {"$set": {"notifications_open": False}}
        )

    # ----------------------------------------------------------------- the completion callback

    async def count_callback_attempt(self, issuance_id: str, url: str) -> None:
        await self.collection.update_one(
            {"_id": ObjectId(issuance_id)},
            {
                "$set": {"callback.status": DeliveryStatus.PENDING, "callback.url": url},
                "$inc": {"callback.attempts": 1},
            },
        )

    async def mark_callback_delivered(self, issuance_id: str, delivered_at: str) -> None:
        await self.collection.update_one(
            {"_id": ObjectId(issuance_id)},
            {
                "$set": {
                    "callback.status": DeliveryStatus.DELIVERED,
                    "callback.lastError": None,
                    "callback.deliveredAt": delivered_at,
                }
            },
        )

    async def record_callback_failure(self, issuance_id: str, error: str, final: bool) -> None:
        await self.collection.update_one(
            {"_id": ObjectId(issuance_id), "callback.status": {"$ne": DeliveryStatus.DELIVERED}},
            {
                "$set": {
                    "callback.lastError": error[:500],
                    "callback.status": DeliveryStatus.FAILED if final else DeliveryStatus.PENDING,
                }
            },
        )
