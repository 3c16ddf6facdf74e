"""POST /v2/giftcards/tasks/{taskId}/cancel: a queued batch stops issuing; the cards it issued
stay valid and get their CSV, as a failed batch's do (failed_export.py).

One conditional update ends the batch `cancelled` (while it is pending or running, at the step
that was read) and names the CSV chain its owner, so the main chain's next hand-off finds it
is no longer its own, and no lane can lease a part again (`claim_part` wants `running`). A lane
mid-chunk finishes that chunk (seconds) and then gives its lease back; the CSV chain first
waits for those leases (`failed_export.settle`), then counts the cards and writes them all.
The callback (`bulk_issuance.cancelled`) is sent once the count is settled. Cancel is
idempotent; a finished task cannot be cancelled (409), nor can a cancelled one be retried.
"""

import logging

from app.domain.issuance import completion_callback, failure
from app.lib import jobs
from app.lib.errors import ConflictError, ServiceUnavailableError
from app.storage.models import BulkIssuance
from app.storage.resources import Resources
from app.storage.states import FINISHED_TASK, EventType, TaskStatus

log = logging.getLogger(__name__)
ATTEMPTS = 5  # the chain handed off between reading and cancelling: read it again


async def cancel(res: Resources, issuance: BulkIssuance) -> BulkIssuance:
    """The batch cancelled (by this request or an earlier one)."""
    issuance_id = str(issuance.id)
    for _ in range(ATTEMPTS):
        if issuance.status == TaskStatus.CANCELLED:
            return issuance
        if issuance.status in FINISHED_TASK:
            raise ConflictError(
                f"The task is {issuance.status}: there is nothing to cancel.",
                code="task_finished",
            )
        callback = await completion_callback.prepare(
            res, issuance_id, EventType.BULK_ISSUANCE_CANCELLED
        )
        export_job = jobs.failed_export_job_id(issuance_id, issuance.step + 1)
        cancelled = await res.db.issuances.cancel(issuance, export_job)
        if cancelled is not None:
            log.info("bulk issuance %s cancelled", issuance_id)
            await completion_callback.release(res, callback)
            await failure.queue_export(res, issuance_id, export_job)
            return cancelled
        now = await res.db.issuances.get(issuance_id)
        if now is None:
            break
        issuance = now
    raise ServiceUnavailableError("The batch is busy; try the cancel again.", code="busy")
