"""The queued path: a batch is a chain of short `advance` jobs (its main lane), joined by
helper lanes on other workers once it has more than one part (parts.py, lanes.py).

A step is one chunk of cards of a part the lane leases; the step that ends a part uploads its
CSV part; the lane that finds every part done completes the batch. All state is in the
issuance document, so any worker can run any step, and running a step twice is harmless:
cards are unique on `(bulk_issuance_id, seq)`, a CSV part re-uploaded under its number
replaces itself with the same bytes.

The task names the main chain's current job (`current_job`). It works only while it is the
owner: arq retrying a crashed job (same id) resumes where the state says; a stale duplicate,
or a job the sweeper replaced, does nothing. After a time slice the owner hands the task to a
fresh job, so no job comes near its timeout and arq's lock (the recovery delay) stays short.
When every open part is leased to a helper, the main chain waits (a deferred job) for the
first lease that could lapse, so a helper that died is taken over without the sweeper.

Helpers (`help`) are queued once part 1 is done, up to `batch_max_workers` lanes in all, once
per recovery of the chain; they stop when nothing is left to lease.
"""

import logging
import time

from app.domain.issuance import activation, completion_callback, csv_export, failure, parts
from app.domain.issuance.lanes import Lane, busy_here, running_here
from app.lib import jobs
from app.lib.logging import bind_ids
from app.lib.types import now_ms
from app.storage.models import BulkIssuance
from app.storage.resources import Resources
from app.storage.states import FINISHED_TASK, STOPPED_TASK, EventType, TaskStatus

log = logging.getLogger(__name__)
# a helper that finds its batch running in its process already is queued again (a second
# later, maybe on another worker) while its step (its jobs so far, hand-offs included) is
# below this; past it, it leaves the batch to the other lanes
HELPER_BOUNCES = 120


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
    issuance = await _owned(res, issuance_id, job_id)  # running now: parts can be leased
    if issuance is None:
        return
    with running_here(issuance_id):
        await _run_main(res, issuance, job_id, slice_seconds, stretch_seconds)


async def _run_main(
    res: Resources,
    issuance: BulkIssuance,
    job_id: str,
    slice_seconds: float,
    stretch_seconds: float,
) -> None:
    issuance_id = str(issuance.id)
    lane = Lane(res, issuance, parts.MAIN_LANE, issuance.resumes)
    started = time.monotonic()
    while True:
        step_started = time.monotonic()
        await res.db.issuances.beat(issuance_id)
        stepped = await lane.step(issuance)
        if stepped is not None:
            await _queue_helpers(res, stepped)
        owned = await _owned(res, issuance_id, job_id)
        if owned is None:
            await _leave_if_stopped(res, issuance_id, lane.name)
            return
        issuance = owned
        if parts.all_done(issuance, res.settings.csv_part_rows):
            await _complete(res, issuance)
            return
        if stepped is None:  # every open part is another lane's: wait for them
            await _hand_off(res, issuance, job_id, wait=True)
            return
        if _time_to_go(started, step_started, lane, slice_seconds, stretch_seconds):
            await lane.keep()
            await _hand_off(res, issuance, job_id)
            return


async def help(
    res: Resources,
    issuance_id: str,
    lane_name: str,
    step: int,
    slice_seconds: float,
    stretch_seconds: float,
) -> None:
    """A helper lane's job: steps for `slice_seconds`, then its next job; ends when there is
    nothing left to lease (or the batch stopped, or was resumed into a new run since). In a
    process that runs a lane of the batch already, it steps aside for another worker."""
    issuance = await res.db.issuances.get(issuance_id)
    run = parts.helper_run(lane_name)
    if issuance is None or issuance.status != TaskStatus.RUNNING or issuance.resumes != run:
        return
    bind_ids(task_id=issuance.task_id)
    if busy_here(issuance_id):
        if step < HELPER_BOUNCES:
            await jobs.enqueue_helper(res.redis, issuance_id, lane_name, step + 1, 1.0)
        return
    with running_here(issuance_id):
        await _run_helper(res, issuance, lane_name, step, slice_seconds, stretch_seconds)


async def _run_helper(
    res: Resources,
    issuance: BulkIssuance,
    lane_name: str,
    step: int,
    slice_seconds: float,
    stretch_seconds: float,
) -> None:
    issuance_id = str(issuance.id)
    lane = Lane(res, issuance, lane_name, issuance.resumes)
    started = time.monotonic()
    while True:
        step_started = time.monotonic()
        await res.db.issuances.beat(issuance_id)
        stepped = await lane.step(issuance)
        if stepped is None or parts.all_done(stepped, res.settings.csv_part_rows):
            current = stepped or await res.db.issuances.get(issuance_id)
            if current is not None and parts.all_done(current, res.settings.csv_part_rows):
                await _complete(res, current)
            await _leave_if_stopped(res, issuance_id, lane_name)
            return
        issuance = stepped
        if _time_to_go(started, step_started, lane, slice_seconds, stretch_seconds):
            await lane.keep()
            await jobs.enqueue_helper(res.redis, issuance_id, lane_name, step + 1)
            return


def _time_to_go(
    started: float, step_started: float, lane: Lane, slice_seconds: float, stretch_seconds: float
) -> bool:
    """Hand off once the slice is spent (the stretch, while a CSV part is half filled), or
    before a next step that would end past it: a step takes about as long as the last one,
    and on a busy database that can be seconds, which would run the job into its timeout
    (and lose the part's rows held in this process)."""
    now = time.monotonic()
    budget = stretch_seconds if lane.filling() else slice_seconds
    return now - started + (now - step_started) >= budget


async def _owned(res: Resources, issuance_id: str, job_id: str) -> BulkIssuance | None:
    issuance = await res.db.issuances.get(issuance_id)
    if issuance is None or issuance.status in FINISHED_TASK or issuance.current_job != job_id:
        return None
    return issuance


async def _leave_if_stopped(res: Resources, issuance_id: str, lane: str) -> None:
    """A lane that finds its batch failed or cancelled gives its leases back at once: the
    CSV of the cards issued waits until no lane can still be inserting (failed_export)."""
    issuance = await res.db.issuances.get(issuance_id)
    if issuance is not None and issuance.status in STOPPED_TASK:
        await res.db.issuances.release_parts(issuance_id, lane)


async def _queue_helpers(res: Resources, issuance: BulkIssuance) -> None:
    """Once part 1 is done, the batch's other lanes join: once per recovery of the chain, as
    many as there are parts besides the one the main chain takes next."""
    rows = res.settings.csv_part_rows
    lanes = min(res.settings.batch_max_workers, parts.count(issuance.requested_count, rows) - 1)
    if (
        lanes < 2
        or "1" not in issuance.csv_parts
        or issuance.helpers_queued == issuance.recoveries
        or parts.all_done(issuance, rows)
    ):
        return
    if not await res.db.issuances.queue_helpers(
        str(issuance.id), issuance.helpers_queued, issuance.recoveries
    ):
        return
    for n in range(1, lanes):
        name = parts.helper_lane(n, issuance.resumes, issuance.recoveries)
        await jobs.enqueue_helper(res.redis, str(issuance.id), name, 0)
    log.info("bulk issuance %s: %d helper lane(s) queued", issuance.id, lanes - 1)


async def _complete(res: Resources, issuance: BulkIssuance) -> None:
    key = csv_export.csv_key(issuance)
    total = parts.count(issuance.requested_count, res.settings.csv_part_rows)
    etags = {n: issuance.csv_parts[str(n)] for n in range(1, total + 1)}
    assert issuance.csv_upload_id is not None  # every part was recorded under one upload
    await csv_export.complete_upload(res.store, key, issuance.csv_upload_id, etags)
    # the callback's outbox row first, then the task's end (see completion_callback)
    callback = await completion_callback.prepare(
        res, str(issuance.id), EventType.BULK_ISSUANCE_COMPLETED
    )
    if await res.db.issuances.complete(str(issuance.id), key):
        log.info("bulk issuance %s completed: %d cards", issuance.id, issuance.requested_count)
        await completion_callback.release(res, callback)
        await activation.schedule(res, issuance)  # its cards were left scheduled while issuing


async def _hand_off(
    res: Resources, issuance: BulkIssuance, job_id: str, wait: bool = False
) -> None:
    """Names the next job as owner (only if we still own it), then queues it; `wait`: to run
    once the first lease another lane holds could have lapsed."""
    step = issuance.step + 1
    next_job = jobs.advance_job_id(str(issuance.id), step)
    if not await res.db.issuances.hand_off(str(issuance.id), job_id, step, next_job):
        return
    if not wait:
        await jobs.enqueue_advance(res.redis, str(issuance.id), next_job)
        return
    lapse = parts.next_lease_end(issuance) or now_ms()
    seconds = min(max((lapse - now_ms()) / 1000 + 0.5, 1.0), res.settings.job_timeout_seconds)
    await jobs.enqueue_advance_later(res.redis, str(issuance.id), next_job, seconds)


async def fail(res: Resources, issuance_id: str, reason: str) -> None:
    # the callback's outbox row first, then the task's end (see completion_callback)
    callback = await completion_callback.prepare(res, issuance_id, EventType.BULK_ISSUANCE_FAILED)
    failed = await failure.record(res, issuance_id, reason)
    if failed is not None:
        log.warning("bulk issuance %s failed: %s", issuance_id, reason)
        await completion_callback.release(res, callback)
        # the main chain is what failed: its part goes free for the count of the cards
        await res.db.issuances.release_parts(issuance_id, parts.MAIN_LANE)


async def note_error(res: Resources, issuance_id: str, reason: str) -> None:
    """Keeps the last transient error on the task, so a later failure can say what was down."""
    await res.db.issuances.note_error(issuance_id, reason)
