"""Finding queued batches whose chain of jobs broke, and restarting them.

arq itself re-runs a job whose worker died (once its lock expires). What it cannot do: run a
job that was never queued (the API died between saving the task and queuing it; Redis lost
its data), or retry a job that exhausted its tries or hit its timeout. The sweeper finds tasks
with no heartbeat for `stale_task_seconds` whose current job is neither queued nor running,
and queues that step again under a fresh id, up to `max_recoveries` times; then the task
fails with a reason instead of staying `running` forever.
"""

import logging

from arq.jobs import Job, JobStatus

from app.domain.issuance import batch
from app.domain.issuance.models import BulkIssuance
from app.lib import jobs
from app.lib.resources import Resources
from app.lib.types import now_ms

log = logging.getLogger(__name__)
ALIVE = (JobStatus.queued, JobStatus.deferred, JobStatus.in_progress)


async def recover_stale_tasks(res: Resources, limit: int = 200) -> int:
    stale_before = now_ms() - res.settings.stale_task_seconds * 1000
    cursor = (
        BulkIssuance.get_pymongo_collection()
        .find(
            {
                "is_async": True,
                "queue": res.settings.queue_name,
                "status": {"$in": ["pending", "running"]},
                "heartbeat_ms": {"$lt": stale_before},
            },
            {"step": 1, "current_job": 1, "recoveries": 1, "error": 1},
        )
        .limit(limit)
    )
    recovered = 0
    async for task in cursor:
        if await _job_alive(res, task.get("current_job")):
            continue
        if task["recoveries"] >= res.settings.max_recoveries:
            reason = task.get("error") or "its jobs kept failing"
            await batch.fail(
                res, str(task["_id"]), f"gave up after {task['recoveries']} recoveries: {reason}"
            )
            continue
        recovered += await _requeue(res, task)
    return recovered


async def _job_alive(res: Resources, job_id: str | None) -> bool:
    if not job_id:
        return False
    status = await Job(job_id, res.redis, _queue_name=res.settings.queue_name).status()
    return status in ALIVE


async def _requeue(res: Resources, task: dict) -> int:
    issuance_id = str(task["_id"])
    recovery = task["recoveries"] + 1
    job_id = jobs.advance_job_id(issuance_id, task["step"], recovery)
    claimed = await BulkIssuance.get_pymongo_collection().update_one(
        {"_id": task["_id"], "current_job": task.get("current_job")},
        {"$set": {"current_job": job_id, "recoveries": recovery, "heartbeat_ms": now_ms()}},
    )
    if not claimed.modified_count:  # another sweeper or the chain itself moved it
        return 0
    await jobs.enqueue_advance(res.redis, issuance_id, job_id)
    log.warning(
        "bulk issuance %s: step %d re-queued (recovery %d)", issuance_id, task["step"], recovery
    )
    return 1
