"""The bulk issuances (and their tasks): every query of the `bulk_issuances` collection."""

from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from app.lib.types import now_ms, utcnow
from app.storage.models import BulkIssuance, CallbackState
from app.storage.repositories import job_chains
from app.storage.repositories.issuance_fulfillment import IssuanceFulfillmentQueries
from app.storage.repositories.issuance_parts import IssuancePartQueries, run_filter
from app.storage.repositories.job_chains import StaleTask
from app.storage.repositories.paging import newest_first_page
from app.storage.states import (
    FINISHED_TASK,
    STOPPED_TASK,
    CardStatus,
    IssuanceMode,
    TaskStatus,
)

_UNFINISHED = {"$nin": list(FINISHED_TASK)}


def _exporting(issuance_id: str, job: str) -> dict[str, Any]:
    """The failed (or cancelled) batch while `job` writes the CSV of its cards."""
    return {
        "_id": ObjectId(issuance_id),
        "status": {"$in": list(STOPPED_TASK)},
        "failed_csv_pending": True,
        "current_job": job,
    }


def _stopped(
    seen: BulkIssuance, status: TaskStatus, reason: str | None, export_job: str
) -> dict[str, Any]:
    """A batch ending short (failed or cancelled): `export_job` owns its next step, the CSV of
    the cards it issued, once they are counted again (failed_export.settle)."""
    return {
        "status": status,
        "error": reason,
        "completed_at": utcnow(),
        "failed_csv_pending": True,
        "failed_csv_key": None,
        "cards_settled": False,
        "step": seen.step + 1,
        "current_job": export_job,
        "heartbeat_ms": now_ms(),
    }


@dataclass(frozen=True)
class CardsFound:
    """A failing batch's cards, read through the seq index: every seq below `issued_count`
    exists; `contiguous` is where the run of existing seqs really ends (a chunk cut short
    can leave cards, even gaps, past it) and `found` counts every card."""

    contiguous: int
    found: int


@dataclass(frozen=True)
class OpenRecipientBatch:
    id: str
    program_id: str
    status: TaskStatus
    round: int  # notifications_round when read


class IssuanceRepository(IssuanceFulfillmentQueries, IssuancePartQueries):
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

    async def by_reference(self, merchant_id: str, reference: str) -> BulkIssuance | None:
        """The merchant's bulk issuance by its id or, failing that, by its token."""
        if ObjectId.is_valid(reference) and len(reference) == 24:
            found = await self.of_merchant(merchant_id, reference)
            if found is not None:
                return found
        return await BulkIssuance.find_one({"merchant_id": merchant_id, "token": reference})

    async def task(self, task_id: str) -> BulkIssuance | None:
        """Any merchant's queued batch by its task id (the operator's CLI)."""
        return await BulkIssuance.find_one({"task_id": task_id, "is_async": True})

    async def task_of_merchant(self, merchant_id: str, task_id: str) -> BulkIssuance | None:
        return await BulkIssuance.find_one(
            {"task_id": task_id, "merchant_id": merchant_id, "is_async": True}
        )

    async def page_for_program(
        self,
        merchant_id: str,
        program_id: str,
        limit: int,
        cursor: str | None,
        token: str | None = None,
    ) -> tuple[list[BulkIssuance], str | None]:
        query = {"merchant_id": merchant_id, "program_id": program_id}
        if token is not None:
            query["token"] = token
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

    async def claim_csv_upload(
        self, issuance_id: str, upload_id: str, key: str, resumes: int
    ) -> bool:
        """Names `upload_id` as the issuance's CSV upload unless another run named one first
        (or the batch was resumed since: `key` is then an earlier run's)."""
        claimed = await self.collection.find_one_and_update(
            {"_id": ObjectId(issuance_id), "csv_upload_id": None, "resumes": run_filter(resumes)},
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

    async def fail(
        self, seen: BulkIssuance, reason: str, cards: CardsFound, export_job: str
    ) -> BulkIssuance | None:
        """Fails the batch as `seen` (same step and progress: else it moved, and this is None,
        as when it had finished already), with its cards counted, and names `export_job` the
        owner of the next step: the CSV of those cards."""
        failed = await self.collection.find_one_and_update(
            {
                "_id": seen.id,
                "status": _UNFINISHED,
                "step": seen.step,
                "issued_count": seen.issued_count,
            },
            {
                "$set": {
                    **_stopped(seen, TaskStatus.FAILED, reason, export_job),
                    "failed_count": seen.requested_count - cards.found,
                },
                "$max": {"issued_count": cards.contiguous},
            },
            return_document=ReturnDocument.AFTER,
        )
        return None if failed is None else BulkIssuance.model_validate(failed)

    async def cancel(self, seen: BulkIssuance, export_job: str) -> BulkIssuance | None:
        """Cancels the batch as `seen` (still unfinished, at the same step: else it moved, and
        this is None) and names `export_job` the owner of the next step: the CSV of the cards
        it issued, counted by that job once no lane can still be inserting."""
        cancelled = await self.collection.find_one_and_update(
            {"_id": seen.id, "status": _UNFINISHED, "step": seen.step},
            {"$set": _stopped(seen, TaskStatus.CANCELLED, None, export_job)},
            return_document=ReturnDocument.AFTER,
        )
        return None if cancelled is None else BulkIssuance.model_validate(cancelled)

    async def settle_cards(self, seen: BulkIssuance, job: str, cards: CardsFound) -> bool:
        """The stopped batch's cards as counted once no lane could add one any more."""
        settled = await self.collection.update_one(
            _exporting(str(seen.id), job),
            {
                "$set": {
                    "failed_count": seen.requested_count - cards.found,
                    "cards_settled": True,
                    "heartbeat_ms": now_ms(),
                },
                "$max": {"issued_count": cards.contiguous},
            },
        )
        return bool(settled.modified_count)

    async def note_error(self, issuance_id: str, reason: str) -> None:
        await self.collection.update_one(
            {"_id": ObjectId(issuance_id)}, {"$set": {"error": reason}}
        )

    # ----------------------------------------------------------------- a failed batch

    async def record_failed_csv_part(
        self, issuance_id: str, job: str, part: int, etag: str
    ) -> None:
        """A part of the failed batch's CSV, recorded only while `job` writes that CSV (a retry
        meanwhile started a fresh upload: this part is not one of its own)."""
        await self.collection.update_one(
            _exporting(issuance_id, job),
            {"$set": {f"csv_parts.{part}": etag}},
        )

    async def failed_export_done(self, issuance_id: str, job: str, csv_key: str) -> bool:
        """The failed batch's CSV exists at `csv_key`: recorded only while `job` owns it."""
        done = await self.collection.update_one(
            _exporting(issuance_id, job),
            {
                "$set": {
                    "failed_csv_pending": False,
                    "failed_csv_key": csv_key,
                    "heartbeat_ms": now_ms(),
                }
            },
        )
        return bool(done.modified_count)

    async def resume(self, seen: BulkIssuance, job: str) -> bool:
        """A failed batch running again under `job` from its contiguous progress, with a CSV
        of its own (a fresh upload, under the key of the next `resumes`), recoveries from 0.
        Only once per failure: False when another request resumed it first."""
        resumed = await self.collection.update_one(
            {"_id": seen.id, "status": TaskStatus.FAILED, "resumes": run_filter(seen.resumes)},
            {
                "$set": {
                    "status": TaskStatus.RUNNING,
                    "error": None,
                    "completed_at": None,
                    "failed_count": 0,
                    "failed_csv_pending": False,
                    "failed_csv_key": None,
                    "csv_key": None,
                    "csv_upload_id": None,
                    "csv_parts": {},
                    "part_claims": {},
                    "helpers_queued": -1,
                    "current_job": job,
                    "recoveries": 0,
                    "heartbeat_ms": now_ms(),
                },
                "$inc": {"step": 1, "resumes": 1},
            },
        )
        return bool(resumed.modified_count)

    # ----------------------------------------------------------------- deactivate / activate

    async def claim_status_change(
        self, issuance_id: str, latest: str | None, change_id: str, card_status: CardStatus
    ) -> bool:
        """Names `change_id` the batch's status change, only while `latest` (finished, or None)
        is still its latest and the batch is not issuing: two requests never both switch it."""
        claimed = await self.collection.update_one(
            {
                "_id": ObjectId(issuance_id),
                "status_change_id": latest,
                "status": {"$in": list(FINISHED_TASK)},
            },
            {"$set": {"status_change_id": change_id, "card_status": card_status}},
        )
        return bool(claimed.modified_count)

    async def record_export(self, issuance_id: str, csv_key: str) -> None:
        """The batch's latest fresh export: its CSV link from now on."""
        await self.collection.update_one(
            {"_id": ObjectId(issuance_id)}, {"$set": {"export_key": csv_key}}
        )

    # ----------------------------------------------------------------- scheduled activation

    async def activated(self, issuance_id: str) -> bool:
        """The batch's cards are active now (unless its merchant switched them meanwhile)."""
        done = await self.collection.update_one(
            {"_id": ObjectId(issuance_id), "card_status": CardStatus.SCHEDULED},
            {"$set": {"card_status": CardStatus.ACTIVE}},
        )
        return bool(done.modified_count)

    async def due_activations(self, due_before_ms: int, limit: int) -> list[str]:
        """Ended batches still `scheduled` whose activation time is before `due_before_ms`."""
        found = self.collection.find(
            {
                "card_status": CardStatus.SCHEDULED,
                "activates_ms": {"$lte": due_before_ms},
                "status": {"$in": list(FINISHED_TASK)},
                "cards_settled": True,
            },
            {"_id": 1},
        ).limit(limit)
        return [str(doc["_id"]) async for doc in found]

    # ----------------------------------------------------------------- the sweeper

    async def stale_tasks(self, queue: str, stale_before_ms: int, limit: int) -> list[StaleTask]:
        running = {"status": {"$in": [TaskStatus.PENDING, TaskStatus.RUNNING]}}
        return await self._stale(queue, stale_before_ms, limit, running)

    async def stale_failed_exports(
        self, queue: str, stale_before_ms: int, limit: int
    ) -> list[StaleTask]:
        """Failed or cancelled batches whose CSV of issued cards is still to write, with no
        recent step."""
        pending = {"status": {"$in": list(STOPPED_TASK)}, "failed_csv_pending": True}
        return await self._stale(queue, stale_before_ms, limit, pending)

    async def _stale(
        self, queue: str, stale_before_ms: int, limit: int, state: dict[str, Any]
    ) -> list[StaleTask]:
        query = {"is_async": True, "queue": queue, **state}
        return await job_chains.find_stale(self.collection, query, stale_before_ms, limit)

    async def take_over(self, task: StaleTask, job_id: str) -> bool:
        return await job_chains.take_over(self.collection, task, job_id)

    async def open_recipient_batches(self, queue: str) -> list[OpenRecipientBatch]:
        """The deployment's batches with a notification still to send (few: the rest are
        closed), through the (notifications_open, queue) index."""
        found = self.collection.find(
            {"notifications_open": True, "queue": queue, "mode": IssuanceMode.RECIPIENTS},
            {"program_id": 1, "status": 1, "notifications_round": 1},
        )
        return [
            OpenRecipientBatch(
                str(doc["_id"]),
                doc["program_id"],
                TaskStatus(doc["status"]),
                doc.get("notifications_round", 0),
            )
            async for doc in found
        ]

    async def close_notifications(self, batch: OpenRecipientBatch) -> None:
        """Closed only if not reopened since `batch` was read (a resend meanwhile)."""
        # batches written before rounds were counted have none: round 0
        same_round = {"$in": [0, None]} if batch.round == 0 else batch.round
        await self.collection.update_one(
            {"_id": ObjectId(batch.id), "notifications_round": same_round},
            {"$set": {"notifications_open": False}},
        )

    async def reopen_notifications(self, issuance_id: str) -> None:
        """The sweep looks at the batch again (a resend, or cards issued after it closed)."""
        await self.collection.update_one(
            {"_id": ObjectId(issuance_id)},
            {"$set": {"notifications_open": True}, "$inc": {"notifications_round": 1}},
        )

    # ----------------------------------------------------------------- the completion callback

    async def mirror_callback(self, issuance_id: str, state: CallbackState) -> None:
        """The task's view of its callback's delivery (the delivery itself is in the outbox)."""
        await self.collection.update_one(
            {"_id": ObjectId(issuance_id)}, {"$set": {"callback": state.model_dump()}}
        )

    # ----------------------------------------------------------------- metrics

    async def count_tasks_by_status(self) -> dict[str, int]:
        """Queued batches per status, for /metrics (bulk issuances only, never the cards)."""
        pipeline: list[dict[str, Any]] = [
            {"$match": {"is_async": True}},
            {"$group": {"_id": "$status", "n": {"$sum": 1}}},
        ]
        cursor = await self.collection.aggregate(pipeline)
        return {str(doc["_id"]): int(doc["n"]) async for doc in cursor}
