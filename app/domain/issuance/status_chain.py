"""Switching a batch's cards to `inactive` or back to `active`, a bounded seq range at a time.

A step is one `update_many` of the cards with seq in `[done_seq, done_seq + chunk)` through
the batch's `(program_id, bulk_issuance_id, seq)` index, never a scan of the cards; then
`done_seq` rises (`$max`). Setting a status twice is harmless, so a step re-run after a crash
changes nothing. Only `status` changes: a physical card stays in its fulfillment order.

Large batches run as a chain of short `switch_card_status` jobs, the way issuing does
(batch.py): the change names the job that owns it, a job works only while it is the owner,
and hands off to a fresh job after a time slice. The sweeper (`recover_stale_changes`, run by
the same cron as the issuing sweeper) re-queues a change whose chain broke, and fails it after
`max_recoveries`. Small batches run the same steps inside the request (`run_inline`).
"""

import logging
import time

from app.domain.issuance import reexport
from app.lib import jobs
from app.lib.types import now_ms
from app.storage.models import StatusChange
from app.storage.repositories import StaleTask
from app.storage.resources import Resources
from app.storage.states import FINISHED_TASK, TaskType

log = logging.getLogger(__name__)


async def run_inline(res: Resources, change: StatusChange) -> None:
    """Every step at once (a batch up to the program's syncThreshold)."""
    while change.done_seq < change.end_seq:
        await _switch_chunk(res, change)
    await _complete(res, change)


async def advance(res: Resources, change_id: str, job_id: str, slice_seconds: float) -> None:
    """Runs steps for `slice_seconds`, then hands the change to a fresh job."""
    change = await _owned(res, change_id, job_id)
    if change is None:
        return
    exporting = change.task_type == TaskType.EXPORT  # claims nothing: the cards stay as they are
    if not exporting and not await _claimed(res, change):
        await fail(res, change_id, "superseded: the batch names another status change")
        return
    await res.db.status_changes.mark_running(change_id)
    started = time.monotonic()
    while True:
        await res.db.status_changes.beat(change_id)
        if change.done_seq >= change.end_seq:
            if exporting:
                await reexport.finish(res, change)
            await _complete(res, change)
            return
        if exporting:
            await reexport.write_part(res, change)
        else:
            await _switch_chunk(res, change)
        change = await _owned(res, change_id, job_id)
        if change is None:
            return
        if time.monotonic() - started >= slice_seconds:
            await _hand_off(res, change, job_id)
            return


async def _owned(res: Resources, change_id: str, job_id: str) -> StatusChange | None:
    change = await res.db.status_changes.get(change_id)
    if change is None or change.status in FINISHED_TASK or change.current_job != job_id:
        return None
    return change


async def _claimed(res: Resources, change: StatusChange) -> bool:
    """The batch names this change (a change whose request died before claiming the batch
    must not switch its cards)."""
    issuance = await res.db.issuances.get(change.bulk_issuance_id)
    return issuance is not None and issuance.status_change_id == str(change.id)


async def _switch_chunk(res: Resources, change: StatusChange) -> None:
    start = change.done_seq
    end = min(start + res.settings.status_change_chunk_size, change.end_seq)
    matched = await res.db.cards.set_status(
        change.program_id, change.bulk_issuance_id, (start, end), change.target
    )
    await res.db.status_changes.raise_done(str(change.id), end)
    change.done_seq = end
    log.info(
        "status change %s of bulk issuance %s: seqs %d-%d %s (%d cards)",
        change.id,
        change.bulk_issuance_id,
        start,
        end,
        change.target,
        matched,
    )


async def _complete(res: Resources, change: StatusChange) -> None:
    if await res.db.status_changes.complete(str(change.id)):
        log.info(
            "bulk issuance %s: %s done (task %s)",
            change.bulk_issuance_id,
            change.task_type,
            change.id,
        )


async def _hand_off(res: Resources, change: StatusChange, job_id: str) -> None:
    """Names the next job as owner (only if we still own it), then queues it."""
    step = change.step + 1
    next_job = jobs.status_job_id(str(change.id), step)
    if await res.db.status_changes.hand_off(str(change.id), job_id, step, next_job):
        await jobs.enqueue_status_change(res.redis, str(change.id), next_job)


async def fail(res: Resources, change_id: str, reason: str) -> None:
    if await res.db.status_changes.fail(change_id, reason) is not None:
        log.warning("status change %s failed: %s", change_id, reason)


async def note_error(res: Resources, change_id: str, reason: str) -> None:
    """Keeps the last transient error, so a later failure can say what was down."""
    await res.db.status_changes.note_error(change_id, reason)


# --------------------------------------------------------------------- the sweeper's part


async def recover_stale_changes(res: Resources, limit: int = 200) -> int:
    """Status changes with no heartbeat for `stale_task_seconds` whose job is neither queued
    nor running (Redis lost it, the request died mid-way, tries ran out): their step is
    queued again under a fresh id, up to `max_recoveries` times; then the change fails."""
    stale_before = now_ms() - res.settings.stale_task_seconds * 1000
    queue = res.settings.queue_name
    recovered = 0
    for task in await res.db.status_changes.stale(queue, stale_before, limit):
        if await jobs.job_alive(res.redis, queue, task.current_job):
            continue
        if task.recoveries >= res.settings.max_recoveries:
            reason = task.error or "its jobs kept failing"
            await fail(res, task.id, f"gave up after {task.recoveries} recoveries: {reason}")
            continue
        recovered += await _requeue(res, task)
    return recovered


async def _requeue(res: Resources, task: StaleTask) -> int:
    recovery = task.recoveries + 1
    job_id = jobs.status_job_id(task.id, task.step, recovery)
    if not await res.db.status_changes.take_over(task, job_id):
        return 0  # another sweeper or the chain itself moved it
    await jobs.enqueue_status_change(res.redis, task.id, job_id)
    log.warning("status change %s: step %d re-queued (recovery %d)", task.id, task.step, recovery)
    return 1
