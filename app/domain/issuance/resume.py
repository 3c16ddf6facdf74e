"""POST /v2/giftcards/tasks/{taskId}/retry: a failed (or stuck) queued batch goes on to its
requested count, never issuing a card twice.

A failed batch resumes where its cards stand: the same issuance and seqs, from its contiguous
progress, so the unique `(program_id, bulk_issuance_id, seq)` index turns every card that
exists already into a skipped insert. One conditional update (the batch still failed, still in
the run that was read) puts it back to `running` under a fresh job: of two concurrent retries
one queues that job, the other finds the batch under way. Its recoveries start from 0 again,
and it writes a CSV of every card under a key of its own, which on completion replaces the
failed run's CSV. A stuck task (no heartbeat for `stale_task_seconds`, no live job) is
re-queued as the sweeper would; a live one is left as it is; a completed one needs nothing.
A cancelled one is a 409: its merchant stopped it on purpose (a new request issues more).
"""

import logging
from dataclasses import dataclass

from app.domain.issuance import recovery
from app.lib import jobs
from app.lib.errors import ConflictError
from app.storage.models import BulkIssuance
from app.storage.resources import Resources
from app.storage.states import FINISHED_TASK, TaskStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Retried:
    issuance: BulkIssuance  # as it is now
    accepted: bool  # resumed, re-queued or under way (202); False: finished, nothing to do


async def retry(res: Resources, issuance: BulkIssuance) -> Retried:
    if issuance.status == TaskStatus.CANCELLED:
        raise ConflictError(
            "The task was cancelled: it is not resumed (issue a new batch instead).",
            code="task_cancelled",
        )
    if issuance.status == TaskStatus.FAILED:
        await _resume(res, issuance)
    elif issuance.status in FINISHED_TASK:
        return Retried(issuance, accepted=False)
    else:
        await recovery.requeue_if_stuck(res, issuance)
    now = await res.db.issuances.get(str(issuance.id))
    return Retried(now or issuance, accepted=True)


async def _resume(res: Resources, issuance: BulkIssuance) -> None:
    """A queue that is down after the update answers 503; the batch is `running` by then,
    so the sweeper queues it once it has been quiet for `stale_task_seconds`."""
    job = jobs.resume_job_id(str(issuance.id), issuance.resumes + 1)
    if not await res.db.issuances.resume(issuance, job):
        return  # another retry resumed it first
    log.info(
        "bulk issuance %s resumed from card %d of %d",
        issuance.id,
        issuance.issued_count,
        issuance.requested_count,
    )
    await jobs.enqueue_advance(res.redis, str(issuance.id), job)
