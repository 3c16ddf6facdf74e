"""POST /v2/giftcards/bulk-issuances/{id}/export: a fresh CSV of a batch's cards, rebuilt from
the vault, at any time after (the first one is deleted after EXPORT_RETENTION_DAYS).

An export is a task like a status change (its own `status_changes` document, `type: export`):
a chain of short jobs (status_chain.py), each writing the next CSV part, CSV_PART_ROWS seqs,
read through the batch's seq index and decrypted, to a multipart upload of its own key; the
last step completes the upload, and the batch's `csvDownloadUrl` then links the fresh CSV.
The sweeper re-queues a broken chain like any status change. A batch still issuing is a 409.
"""

import logging

from bson import ObjectId

from app.domain.issuance import csv_export
from app.domain.issuance.schemas import BulkIssuanceAsyncResponse
from app.lib import jobs
from app.lib.errors import ConflictError, NotFoundError
from app.lib.types import now_ms, utcnow
from app.storage.models import BulkIssuance, StatusChange
from app.storage.resources import Resources
from app.storage.states import FINISHED_TASK, TaskStatus, TaskType

log = logging.getLogger(__name__)


async def start(res: Resources, merchant_id: str, reference: str) -> BulkIssuanceAsyncResponse:
    issuance = await res.db.issuances.by_reference(merchant_id, reference)
    if issuance is None:
        raise NotFoundError("Bulk issuance not found.", code="bulk_issuance_not_found")
    if issuance.status not in FINISHED_TASK or issuance.failed_csv_pending:
        raise ConflictError(
            "The bulk issuance is still issuing its cards; retry once its task has finished.",
            code="batch_in_progress",
        )
    change = _new_export(res, merchant_id, issuance)
    await res.db.status_changes.insert(change)
    assert change.current_job is not None
    try:
        await jobs.enqueue_status_change(res.redis, str(change.id), change.current_job)
    except Exception:  # stored: the sweeper queues it once Redis is back
        log.warning("could not queue export %s; left for the sweeper", change.id)
    log.info("accepted an export of bulk issuance %s as task %s", issuance.id, change.id)
    return BulkIssuanceAsyncResponse.from_status_change(change)


def _new_export(res: Resources, merchant_id: str, issuance: BulkIssuance) -> StatusChange:
    change_id = ObjectId()
    cards = issuance.requested_count - issuance.failed_count
    return StatusChange(
        id=change_id,
        merchant_id=merchant_id,
        program_id=issuance.program_id,
        bulk_issuance_id=str(issuance.id),
        task_type=TaskType.EXPORT,
        mode=issuance.mode,
        status=TaskStatus.PENDING,
        card_count=cards,
        end_seq=issuance.requested_count,
        is_async=True,
        queue=res.settings.queue_name,
        current_job=jobs.status_job_id(str(change_id), 0),
        heartbeat_ms=now_ms(),
        created_at=utcnow(),
        csv_key=f"exports/{merchant_id}/{issuance.id}.export-{change_id}.csv",
    )


async def write_part(res: Resources, change: StatusChange) -> None:
    """The next CSV part: seqs [done_seq, done_seq + CSV_PART_ROWS), part 1 with the header."""
    issuance = await res.db.issuances.get(change.bulk_issuance_id)
    if issuance is None:
        raise LookupError(f"bulk issuance {change.bulk_issuance_id} is gone")
    assert change.csv_key is not None
    rows = res.settings.csv_part_rows
    start = change.done_seq
    end = min(start + rows, change.end_seq)
    part = start // rows + 1
    upload_id = change.csv_upload_id or await _claim_upload(res, change)
    etag = await csv_export.export_range(
        res.store,
        res.vault,
        res.db.cards,
        issuance,
        upload_id,
        part,
        [(start, end)],
        key=change.csv_key,
    )
    await res.db.status_changes.record_export_part(str(change.id), part, etag, end)
    change.done_seq, change.csv_parts[str(part)] = end, etag


async def _claim_upload(res: Resources, change: StatusChange) -> str:
    assert change.csv_key is not None
    upload_id = await res.store.start_multipart(change.csv_key, csv_export.CSV_TYPE)
    named = await res.db.status_changes.claim_export_upload(str(change.id), upload_id)
    if named != upload_id:
        await res.store.abort_multipart(change.csv_key, upload_id)
    change.csv_upload_id = named
    return named


async def finish(res: Resources, change: StatusChange) -> None:
    """Completes the CSV and links it on the batch (part 1 always exists: it has the header,
    even for a batch that issued no card)."""
    assert change.csv_key is not None and change.csv_upload_id is not None
    etags = {int(part): etag for part, etag in change.csv_parts.items()}
    await csv_export.complete_upload(res.store, change.csv_key, change.csv_upload_id, etags)
    await res.db.issuances.record_export(change.bulk_issuance_id, change.csv_key)
