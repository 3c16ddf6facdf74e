"""The queued path: a batch is a chain of short `advance` jobs, each running a few steps.

A step is one chunk of cards (`issued_count` → `+ batch_chunk_size`), then one part of the
multipart CSV, then completion. All state is in the issuance document, so any worker can run
any step, and running a step twice is harmless: cards are unique on `(bulk_issuance_id, seq)`,
a CSV part re-uploaded under its number replaces itself.

The task names the job that owns it (`current_job`). A job works only while it is the owner:
arq retrying a crashed job (same id) resumes where the state says; a stale duplicate, or a job
the sweeper replaced, does nothing. After a time slice the owner hands the task to a fresh
job, so no job comes near its timeout and arq's lock (the recovery delay) stays short.
"""

import logging
import time

from app.domain.issuance import completion_callback, csv_export, failure, part_buffer
from app.domain.issuance.generation import CardFactory, insert_range
from app.domain.issuance.part_buffer import PartBuffer
from app.lib import jobs, metrics
from app.lib.logging import bind_ids
from app.storage.models import BulkIssuance
from app.storage.resources import Resources
from app.storage.states import FINISHED_TASK, EventType, IssuanceMode

log = logging.getLogger(__name__)


async def advance(
    res: Resources, issuance_id: str, job_id: str, slice_seconds: float, stretch_seconds: float
) -> None:
    """Runs steps for `slice_seconds`, then hands the task to a fresh job. While a CSV part is
    half written it goes on, up to `stretch_seconds`, rather than drop the part and read its
    cards back from the database later."""
    issuance = await _owned(res, issuance_id, job_id)
    if issuance is None:
        return
    bind_ids(task_id=issuance.task_id)
    await res.db.issuances.mark_running(str(issuance.id))
    started = time.monotonic()
    parts = part_buffer.resume(str(issuance.id), issuance.resumes, issuance.issued_count)
    if parts is None:
        rows = csv_export.RowFormat.for_issuance(issuance)
        parts = PartBuffer(res.settings.csv_part_rows, issuance.requested_count, rows)
    while True:
        await res.db.issuances.beat(str(issuance.id))
        if issuance.issued_count < issuance.requested_count:
            await _issue_chunk(res, issuance, parts)
        elif len(issuance.csv_parts) < csv_export.part_count(issuance, res.settings.csv_part_rows):
            await _export_part(res, issuance)
        else:
            await _complete(res, issuance)
            return
        issuance = await _owned(res, issuance_id, job_id)
        if issuance is None:
            return
        elapsed = time.monotonic() - started
        if elapsed >= slice_seconds and (not parts.filling or elapsed >= stretch_seconds):
            part_buffer.keep(str(issuance.id), issuance.resumes, parts)
            await _hand_off(res, issuance, job_id)
            return


async def _owned(res: Resources, issuance_id: str, job_id: str) -> BulkIssuance | None:
    issuance = await res.db.issuances.get(issuance_id)
    if issuance is None or issuance.status in FINISHED_TASK or issuance.current_job != job_id:
        return None
    return issuance


async def _issue_chunk(res: Resources, issuance: BulkIssuance, parts: PartBuffer) -> None:
    start = issuance.issued_count
    end = min(start + res.settings.batch_chunk_size, issuance.requested_count)
    factory = CardFactory(issuance, res.vault, res.settings.card_number_length)
    inserted = await insert_range(res.db.cards, factory, start, end)
    metrics.CARDS_ISSUED.labels("queued").inc(len(inserted))
    inserted.sort(key=lambda card: card.seq)
    await res.db.issuances.raise_issued(str(issuance.id), end)
    for part, body in parts.add(inserted):  # if this upload fails, the export phase redoes it
        await _upload_part(res, issuance, part, body)
    log.info("bulk issuance %s: cards %d-%d done (%d new)", issuance.id, start, end, len(inserted))
    if issuance.mode == IssuanceMode.RECIPIENTS:
        await _queue_notifications(res, issuance, start, end)


async def _queue_notifications(
    res: Resources, issuance: BulkIssuance, start: int, end: int
) -> None:
    """Queues the range's pending notifications, cards of an earlier crashed run included; the
    notify job id and the card's notification state keep a card from being sent twice. The
    batch is reopened for the sweep (a resumed batch may have been closed meanwhile)."""
    card_ids = await res.db.cards.open_notifications(
        issuance.program_id, str(issuance.id), seqs=(start, end)
    )
    if card_ids and not issuance.notifications_open:
        await res.db.issuances.reopen_notifications(str(issuance.id))
    await jobs.enqueue_notifications(res.redis, card_ids)


async def _upload_part(res: Resources, issuance: BulkIssuance, part: int, body: bytes) -> None:
    """A part completed while issuing: upload it now and record its ETag."""
    if issuance.csv_upload_id is None:
        issuance.csv_upload_id = await csv_export.claim_upload(
            res.store, res.db.issuances, issuance
        )
    key = csv_export.csv_key(issuance)
    etag = await res.store.upload_part(key, issuance.csv_upload_id, part, body)
    await res.db.issuances.record_csv_part(str(issuance.id), part, etag)
    issuance.csv_parts[str(part)] = etag
    log.debug("issuance %s: CSV part %d written while issuing", issuance.id, part)


async def _export_part(res: Resources, issuance: BulkIssuance) -> None:
    """A part not written while issuing: read its cards back from the database."""
    if issuance.csv_upload_id is None:
        issuance.csv_upload_id = await csv_export.claim_upload(
            res.store, res.db.issuances, issuance
        )
    rows_per_part = res.settings.csv_part_rows
    total = csv_export.part_count(issuance, rows_per_part)
    part = next(n for n in range(1, total + 1) if str(n) not in issuance.csv_parts)
    etag = await csv_export.export_part(
        res.store, res.vault, res.db.cards, issuance, issuance.csv_upload_id, part, rows_per_part
    )
    await res.db.issuances.record_csv_part(str(issuance.id), part, etag)


async def _complete(res: Resources, issuance: BulkIssuance) -> None:
    key = csv_export.csv_key(issuance)
    etags = {int(number): etag for number, etag in issuance.csv_parts.items()}
    assert issuance.csv_upload_id is not None  # every part was recorded under one upload
    await csv_export.complete_upload(res.store, key, issuance.csv_upload_id, etags)
    # the callback's outbox row first, then the task's end (see completion_callback)
    callback = await completion_callback.prepare(
        res, str(issuance.id), EventType.BULK_ISSUANCE_COMPLETED
    )
    if await res.db.issuances.complete(str(issuance.id), key):
        log.info("bulk issuance %s completed: %d cards", issuance.id, issuance.requested_count)
        await completion_callback.release(res, callback)


async def _hand_off(res: Resources, issuance: BulkIssuance, job_id: str) -> None:
    """Names the next job as owner (only if we still own it), then queues it."""
    step = issuance.step + 1
    next_job = jobs.advance_job_id(str(issuance.id), step)
    if await res.db.issuances.hand_off(str(issuance.id), job_id, step, next_job):
        await jobs.enqueue_advance(res.redis, str(issuance.id), next_job)


async def fail(res: Resources, issuance_id: str, reason: str) -> None:
    # the callback's outbox row first, then the task's end (see completion_callback)
    callback = await completion_callback.prepare(res, issuance_id, EventType.BULK_ISSUANCE_FAILED)
    failed = await failure.record(res, issuance_id, reason)
    if failed is not None:
        log.warning("bulk issuance %s failed: %s", issuance_id, reason)
        await completion_callback.release(res, callback)


async def note_error(res: Resources, issuance_id: str, reason: str) -> None:
    """Keeps the last transient error on the task, so a later failure can say what was down."""
    await res.db.issuances.note_error(issuance_id, reason)
