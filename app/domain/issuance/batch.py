"""The queued path: a batch is issued in short chunk jobs, then finished by an export job.

Each chunk job inserts the cards with seq in [start, start + chunk) (a re-run after a crash
inserts only what is missing), raises the persisted progress with `$max`, and queues the next
chunk. Keeping each job short keeps arq's lock, and so the recovery delay after a crash, short.
"""

import logging

from bson import ObjectId
from pymongo import ReturnDocument

from app.domain.cards.models import Card
from app.domain.issuance import csv_export
from app.domain.issuance.generation import insert_range
from app.domain.issuance.models import BulkIssuance
from app.lib import jobs
from app.lib.resources import Resources
from app.lib.types import utcnow

log = logging.getLogger(__name__)
DONE = ("completed", "failed")


async def run_chunk(res: Resources, issuance_id: str, start: int) -> None:
    issuance = await _start(issuance_id)
    if issuance is None or issuance.status in DONE:
        return
    start = max(start, issuance.issued_count)
    end = min(start + res.settings.batch_chunk_size, issuance.requested_count)
    if start < end:
        inserted = await insert_range(
            issuance, start, end, res.vault, res.settings.card_number_length
        )
        await BulkIssuance.get_pymongo_collection().update_one(
            {"_id": issuance.id}, {"$max": {"issued_count": end}}
        )
        log.info(
            "bulk issuance %s: cards %d-%d done (%d new)", issuance_id, start, end, len(inserted)
        )
        if issuance.mode == "recipients":
            await _queue_notifications(res, issuance_id, start, end)
    if end < issuance.requested_count:
        await jobs.enqueue_chunk(res.redis, issuance_id, end)
    else:
        await jobs.enqueue_finish(res.redis, issuance_id)


async def _start(issuance_id: str) -> BulkIssuance | None:
    """Marks the task running (once) and returns it."""
    collection = BulkIssuance.get_pymongo_collection()
    await collection.update_one(
        {"_id": ObjectId(issuance_id), "status": "pending"},
        {"$set": {"status": "running", "started_at": utcnow()}},
    )
    return await BulkIssuance.get(ObjectId(issuance_id))


async def _queue_notifications(res: Resources, issuance_id: str, start: int, end: int) -> None:
    """Queues the range's notifications (cards from an earlier crashed run included); the
    notify job id and the card's notification state keep this from sending twice."""
    cursor = Card.get_pymongo_collection().find(
        {
            "bulk_issuance_id": issuance_id,
            "seq": {"$gte": start, "$lt": end},
            "notification.status": "pending",
        },
        {"_id": 1},
    )
    card_ids = [str(doc["_id"]) async for doc in cursor]
    await jobs.enqueue_notifications(res.redis, card_ids)


async def finish(res: Resources, issuance_id: str) -> None:
    """Writes the CSV from the stored cards and completes the task."""
    issuance = await BulkIssuance.get(ObjectId(issuance_id))
    if issuance is None or issuance.status in DONE:
        return
    key = await csv_export.export_from_db(res.store, res.vault, issuance)
    await BulkIssuance.get_pymongo_collection().find_one_and_update(
        {"_id": issuance.id, "status": {"$nin": list(DONE)}},
        {
            "$set": {
                "status": "completed",
                "csv_key": key,
                "issued_count": issuance.requested_count,
                "completed_at": utcnow(),
            }
        },
        return_document=ReturnDocument.AFTER,
    )
    log.info("bulk issuance %s completed: %d cards", issuance_id, issuance.requested_count)


async def fail(issuance_id: str, reason: str) -> None:
    await BulkIssuance.get_pymongo_collection().update_one(
        {"_id": ObjectId(issuance_id), "status": {"$nin": list(DONE)}},
        {"$set": {"status": "failed", "error": reason, "completed_at": utcnow()}},
    )
