"""Deactivate / activate a whole bulk issuance (as Saleor's giftCardBulkDeactivate / Activate).

A batch up to its program's syncThreshold is switched inside the request (200, the batch);
a larger one by a chain of jobs (202, a task to poll; status_chain.py). Every card's `status`
changes, physical ones whatever their fulfillment: a card already ORDERED stays in its order.

One change at a time per batch: a change claims the batch (`status_change_id`) only while the
batch's previous change is finished, atomically, so two requests never both run. Asking for
what is running answers with the running task; asking for the opposite while one runs is a
409 `status_change_in_progress` (the client waits for the task, then asks again): a change
half-way would otherwise leave the batch mixed with no task saying so. Asking for what is
already done is a 200 with nothing to do. A batch still issuing is a 409 `batch_in_progress`.
"""

import logging

from bson import ObjectId

from app.domain.issuance import reexport
from app.domain.issuance.schemas import BulkIssuanceAsyncResponse, BulkIssuanceOut
from app.domain.issuance.services import IssuanceService
from app.domain.issuance.status_chain import run_inline
from app.domain.programs.services import ProgramService
from app.lib import jobs
from app.lib.errors import ConflictError, NotFoundError
from app.lib.types import now_ms, utcnow
from app.storage.models import BulkIssuance, StatusChange
from app.storage.resources import Resources
from app.storage.states import FINISHED_TASK, SWITCHED_TO, TaskStatus, TaskType

log = logging.getLogger(__name__)
_CLAIM_ATTEMPTS = 3  # a claim lost to a concurrent request: look again, then give up (409)


Switched = BulkIssuanceOut | BulkIssuanceAsyncResponse  # the batch (200) or its task (202)


class StatusChangeService:
    def __init__(self, resources: Resources) -> None:
        self.res = resources

    async def export(self, merchant_id: str, reference: str) -> BulkIssuanceAsyncResponse:
        """A fresh CSV of the batch's cards, as a task (issuance/reexport.py)."""
        return await reexport.start(self.res, merchant_id, reference)

    async def switch(self, merchant_id: str, reference: str, task_type: TaskType) -> Switched:
        """The batch named by its id or its token."""
        for _ in range(_CLAIM_ATTEMPTS):
            issuance = await self._switchable(merchant_id, reference)
            issuance_id = str(issuance.id)
            latest = await self._latest(issuance)
            if latest is not None and latest.status not in FINISHED_TASK:
                return self._running(latest, task_type)
            settled = latest is None or latest.status == TaskStatus.COMPLETED
            if settled and issuance.card_status == SWITCHED_TO[task_type]:  # nothing to do
                return await self._batch(merchant_id, issuance_id)
            change = await self._new_change(merchant_id, issuance, task_type)
            await self.res.db.status_changes.insert(change)
            previous = str(latest.id) if latest is not None else issuance.status_change_id
            if await self.res.db.issuances.claim_status_change(
                issuance_id, previous, str(change.id), change.target
            ):
                return await self._run(merchant_id, change)
            await self.res.db.status_changes.delete(str(change.id))  # another request won
        raise ConflictError(
            "Another status change of this bulk issuance started meanwhile; retry.",
            code="status_change_in_progress",
        )

    async def _switchable(self, merchant_id: str, reference: str) -> BulkIssuance:
        issuance = await self.res.db.issuances.by_reference(merchant_id, reference)
        if issuance is None:
            raise NotFoundError("Bulk issuance not found.", code="bulk_issuance_not_found")
        if issuance.status not in FINISHED_TASK:
            raise ConflictError(
                "The bulk issuance is still issuing its cards; retry once its task has finished.",
                code="batch_in_progress",
            )
        return issuance

    async def _latest(self, issuance: BulkIssuance) -> StatusChange | None:
        if issuance.status_change_id is None:
            return None
        return await self.res.db.status_changes.get(issuance.status_change_id)

    def _running(self, change: StatusChange, task_type: TaskType) -> BulkIssuanceAsyncResponse:
        if change.task_type != task_type:
            raise ConflictError(
                f"A {change.task_type} of this bulk issuance is running (task {change.id}); "
                "retry once it has finished.",
                code="status_change_in_progress",
            )
        return BulkIssuanceAsyncResponse.from_status_change(change)

    async def _new_change(
        self, merchant_id: str, issuance: BulkIssuance, task_type: TaskType
    ) -> StatusChange:
        program = await ProgramService(self.res).get(merchant_id, issuance.program_id)
        is_async = issuance.issued_count > program.sync_threshold
        change_id = ObjectId()
        queue = self.res.settings.queue_name
        return StatusChange(
            id=change_id,
            merchant_id=merchant_id,
            program_id=issuance.program_id,
            bulk_issuance_id=str(issuance.id),
            task_type=task_type,
            mode=issuance.mode,
            status=TaskStatus.PENDING if is_async else TaskStatus.RUNNING,
            card_count=issuance.issued_count,
            end_seq=max(issuance.requested_count, issuance.issued_count),
            is_async=is_async,
            queue=queue,
            current_job=jobs.status_job_id(str(change_id), 0) if is_async else None,
            heartbeat_ms=now_ms(),
            created_at=utcnow(),
            started_at=None if is_async else utcnow(),
        )

    async def _run(self, merchant_id: str, change: StatusChange) -> Switched:
        if not change.is_async:
            await run_inline(self.res, change)
            return await self._batch(merchant_id, change.bulk_issuance_id)
        assert change.current_job is not None
        try:
            await jobs.enqueue_status_change(self.res.redis, str(change.id), change.current_job)
        except Exception:  # the change is stored: the sweeper queues it once Redis is back
            log.warning("could not queue status change %s; left for the sweeper", change.id)
        log.info(
            "accepted %s of bulk issuance %s (%d cards) as task %s",
            change.task_type,
            change.bulk_issuance_id,
            change.card_count,
            change.id,
        )
        return BulkIssuanceAsyncResponse.from_status_change(change)

    async def _batch(self, merchant_id: str, issuance_id: str) -> BulkIssuanceOut:
        return await IssuanceService(self.res).get(merchant_id, issuance_id)
