"""Finding queued batches whose chain of jobs broke, and restarting them.

arq itself re-runs a job whose worker died (once its lock expires). What it cannot do: run a
job that was never queued (the API died between saving the task and queuing it; Redis lost
its data), or retry a job that exhausted its tries or hit its timeout. The sweeper finds tasks
with no heartbeat for `stale_task_seconds` whose current job is neither queued nor running,
and queues that step again under a fresh id, up to `max_recoveries` times; then the task
fails with a reason instead of staying `running` forever. A failed task's CSV of the cards it
issued is queued again the same way (failed_export.py), with no limit: the task has failed
already, and its cards wait for their CSV.
"""

import logging

from app.domain.issuance import batch, failed_export
from app.lib import jobs
from app.lib.types import now_ms
from app.storage.models import BulkIssuance
from app.storage.repositories import StaleTask
from app.storage.resources import Resources

log = logging.getLogger(__name__)


async def recover_stale_tasks(res: Resources, limit: int = 200) -> int:
    stale_before = now_ms() - res.settings.stale_task_seconds * 1000
    recovered = 0
    for task in await res.db.issuances.stale_tasks(res.settings.queue_name, stale_before, limit):
        if await jobs.job_alive(res.redis, res.settings.queue_name, task.current_job):
            continue
        if task.recoveries >= res.settings.max_recoveries:
            reason = task.error or "its jobs kept failing"
            await batch.fail(res, task.id, f"gave up after {task.recoveries} recoveries: {reason}")
            continue
        recovered += await _requeue(res, task)
    return recovered + await failed_export.requeue_stale(res, stale_before, limit)


async def requeue_if_stuck(res: Resources, issuance: BulkIssuance) -> bool:
    """POST .../retry on a pending or running task: what the sweeper would do with it, now
    and whatever its recoveries so far (the merchant asked). False if it is alive."""
    stale_before = now_ms() - res.settings.stale_task_seconds * 1000
    if issuance.heartbeat_ms >= stale_before or await jobs.job_alive(
        res.redis, res.settings.queue_name, issuance.current_job
    ):
        return False
    task = StaleTask(
        id=str(issuance.id),
        step=issuance.step,
        current_job=issuance.current_job,
        recoveries=issuance.recoveries,
        error=issuance.error,
    )
    return bool(await _requeue(res, task))


async def _requeue(res: Resources, task: StaleTask) -> int:
    recovery = task.recoveries + 1
    job_id = jobs.advance_job_id(task.id, task.step, recovery)
    if not await res.db.issuances.take_over(task, job_id):
        return 0  # another sweeper or the chain itself moved it
    await jobs.enqueue_advance(res.redis, task.id, job_id)
    log.warning("bulk issuance %s: step %d re-queued (recovery %d)", task.id, task.step, recovery)
    return 1
