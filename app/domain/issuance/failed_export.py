"""The CSV of a failed (or cancelled) queued batch: exactly the cards it issued, written by a
chain of short `export_failed_issuance` jobs run like the batch's own (all state on the
issuance, each step idempotent, ownership re-checked after each step, a hand-off after a time
slice).

First it settles the count: a lane of another worker may be mid-chunk when the batch stops, so
the chain waits until no lane holds a live lease (a lane that finds its batch stopped gives its
leases back; a dead one's lapse), then counts the cards through the seq index
(failure.count_cards) and records that count.

It reuses what the batch uploaded. Every seq below the contiguous progress (`issued_count`,
once failed) exists, so parts 1..k of the run's multipart upload (k = issued_count // rows per
part) are complete ranges: those uploaded while issuing stay as they are, those whose upload
failed are read back from the database, one part per step. Past k, the parts other lanes
finished (parts.py) are complete too. One last part holds every other card from k·rows on, the
cards a cut-short chunk left past the progress included (only the last part may be short: S3
refuses small parts before it); numbered after every part, it follows the finished ones.
Completing the upload makes the CSV; only then is its key recorded, so the task never offers
a link to a CSV that does not exist.

A chain that breaks (S3 or MongoDB down past the job's tries) is queued again by the sweeper
(`requeue_stale`), however long that takes; the task stays `failed` with its reason meanwhile.
A retry of the task (POST .../retry) takes it over: this chain stops, and the resumed run
writes a CSV of its own under a new key, so nothing this chain still does can touch it.
"""

import logging
import time

from app.domain.issuance import activation, csv_export, failure, part_buffer, parts
from app.lib import jobs
from app.lib.types import now_ms
from app.storage.models import BulkIssuance
from app.storage.resources import Resources
from app.storage.states import STOPPED_TASK

log = logging.getLogger(__name__)


async def run(res: Resources, issuance_id: str, job_id: str, slice_seconds: float) -> None:
    """Writes parts for `slice_seconds`, then hands the chain to a fresh job."""
    issuance = await _owned(res, issuance_id, job_id)
    if issuance is not None and not issuance.cards_settled:
        issuance = await settle(res, issuance, job_id)
    started = time.monotonic()
    while issuance is not None:
        await res.db.issuances.beat(issuance_id)
        part = _next_part(issuance, res.settings.csv_part_rows)
        if part is None:
            await _finish(res, issuance, job_id)
            return
        await _export(res, issuance, part, job_id)
        issuance = await _owned(res, issuance_id, job_id)
        if issuance is not None and time.monotonic() - started >= slice_seconds:
            await _hand_off(res, issuance, job_id)
            return


async def _owned(res: Resources, issuance_id: str, job_id: str) -> BulkIssuance | None:
    issuance = await res.db.issuances.get(issuance_id)
    if (
        issuance is None
        or issuance.status not in STOPPED_TASK
        or not issuance.failed_csv_pending
        or issuance.current_job != job_id
    ):
        return None
    return issuance


async def settle(res: Resources, issuance: BulkIssuance, job_id: str) -> BulkIssuance | None:
    """Counts the stopped batch's cards once no lane holds a live lease (the batch then, to
    export); while one does, the chain's next job waits for it (None)."""
    now = now_ms()
    if any(claim.until_ms > now for claim in issuance.part_claims.values()):
        # a live lane lets go within its chunk: look again in a second
        await _hand_off(res, issuance, job_id, defer_seconds=1.0)
        return None
    cards = await failure.count_cards(res, issuance)
    await res.db.issuances.settle_cards(issuance, job_id, cards)
    await activation.schedule(res, issuance)  # scheduled cards: no lane inserts any more
    return await _owned(res, str(issuance.id), job_id)


def _plan(issuance: BulkIssuance, rows: int) -> list[int]:
    """The CSV's part numbers: the complete ranges, then the rest (the header alone if the
    batch issued nothing)."""
    complete, finished, _ = _past_progress(issuance, rows)
    in_complete = sum(part.size for part in finished) + complete * rows
    found = issuance.requested_count - issuance.failed_count
    rest = parts.count(issuance.requested_count, rows) + 1 if finished else complete + 1
    tail = [rest] if found > in_complete or (complete == 0 and not finished) else []
    return [*range(1, complete + 1), *(part.number for part in finished), *tail]


def _rest_ranges(issuance: BulkIssuance, rows: int) -> list[tuple[int, int | None]]:
    """The seq ranges of the rest part: from k·rows on, less the parts done while issuing."""
    complete, finished, still_open = _past_progress(issuance, rows)
    if not finished:
        return [(complete * rows, None)]
    return [(part.start, part.end) for part in still_open]


def _past_progress(
    issuance: BulkIssuance, rows: int
) -> tuple[int, list[parts.Part], list[parts.Part]]:
    """k, the parts complete from part 1 on (issued_count // rows), then the parts past them
    done while issuing, and those that were not."""
    complete = issuance.issued_count // rows
    past = [
        parts.part(issuance, n, rows)
        for n in range(complete + 1, parts.count(issuance.requested_count, rows) + 1)
    ]
    finished = [part for part in past if _finished(issuance, part)]
    return complete, finished, [part for part in past if part not in finished]


def _finished(issuance: BulkIssuance, part: parts.Part) -> bool:
    """`part`, past the contiguous progress, was done while issuing: all its cards and its CSV
    part (not the rest part this chain wrote, which can carry the number of a part that was
    still open: that one's progress is short of its size)."""
    done = issuance.part_issued.get(str(part.number), 0) >= part.size
    return done and str(part.number) in issuance.csv_parts


def _next_part(issuance: BulkIssuance, rows: int) -> int | None:
    return next((p for p in _plan(issuance, rows) if str(p) not in issuance.csv_parts), None)


async def _export(res: Resources, issuance: BulkIssuance, part: int, job_id: str) -> None:
    if issuance.csv_upload_id is None:
        issuance.csv_upload_id = await csv_export.claim_upload(
            res.store, res.db.issuances, issuance
        )
    rows = res.settings.csv_part_rows
    plan = _plan(issuance, rows)
    if part == plan[-1] and part > issuance.issued_count // rows:  # the rest
        ranges = _rest_ranges(issuance, rows)
    else:
        ranges = [((part - 1) * rows, part * rows)]
    etag = await csv_export.export_range(
        res.store, res.vault, res.db.cards, issuance, issuance.csv_upload_id, part, ranges
    )
    await res.db.issuances.record_failed_csv_part(str(issuance.id), job_id, part, etag)


async def _finish(res: Resources, issuance: BulkIssuance, job_id: str) -> None:
    key = csv_export.csv_key(issuance)
    assert issuance.csv_upload_id is not None  # the plan has a part, uploaded under it
    etags = {p: issuance.csv_parts[str(p)] for p in _plan(issuance, res.settings.csv_part_rows)}
    await csv_export.complete_upload(res.store, key, issuance.csv_upload_id, etags)
    await _drop_spools(res, issuance, key)
    if await res.db.issuances.failed_export_done(str(issuance.id), job_id, key):
        log.info("failed bulk issuance %s: CSV of its cards written", issuance.id)


async def _drop_spools(res: Resources, issuance: BulkIssuance, key: str) -> None:
    """Rows a lane left for its next job that never came: card numbers, so not left behind
    (a lane deletes its spool when it uploads the part; a stopped batch's open parts keep it)."""
    for number in range(1, parts.count(issuance.requested_count, res.settings.csv_part_rows) + 1):
        if str(number) in issuance.part_claims or str(number) in issuance.part_issued:
            await res.store.delete(part_buffer.spool_key(key, number))


async def _hand_off(
    res: Resources, issuance: BulkIssuance, job_id: str, defer_seconds: float | None = None
) -> None:
    step = issuance.step + 1
    next_job = jobs.failed_export_job_id(str(issuance.id), step)
    if await res.db.issuances.hand_off(str(issuance.id), job_id, step, next_job):
        await jobs.enqueue_failed_export(res.redis, str(issuance.id), next_job, defer_seconds)


async def requeue_stale(res: Resources, stale_before_ms: int, limit: int) -> int:
    """The sweeper's part: failed batches whose CSV chain broke are queued again."""
    queue = res.settings.queue_name
    requeued = 0
    for task in await res.db.issuances.stale_failed_exports(queue, stale_before_ms, limit):
        if await jobs.job_alive(res.redis, queue, task.current_job):
            continue
        job_id = jobs.failed_export_job_id(task.id, task.step, task.recoveries + 1)
        if await res.db.issuances.take_over(task, job_id):
            await jobs.enqueue_failed_export(res.redis, task.id, job_id)
            log.warning("failed bulk issuance %s: CSV of its cards re-queued", task.id)
            requeued += 1
    return requeued


async def record_failure(issuance_id: str, reason: str, final: bool) -> None:
    """The task keeps the batch's own failure reason; after the last try the sweeper queues
    the chain again once it has been quiet for `stale_task_seconds`."""
    if final:
        log.warning("failed bulk issuance %s: CSV left to the sweeper (%s)", issuance_id, reason)
