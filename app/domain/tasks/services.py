from dataclasses import dataclass

from app.domain.issuance import cancel, resume
from app.domain.issuance.services import IssuanceService
from app.domain.tasks.schemas import TaskOut
from app.lib.errors import NotFoundError
from app.storage.models import BulkIssuance
from app.storage.resources import Resources
from app.storage.states import FINISHED_TASK


@dataclass(frozen=True)
class RetriedTask:
    task: TaskOut
    accepted: bool  # 202: resumed, re-queued or under way; False: 200, finished already


class TaskService:
    def __init__(self, resources: Resources) -> None:
        self.res = resources

    async def get(self, merchant_id: str, task_id: str) -> TaskOut:
        """Finished tasks no longer change but clients keep polling them: the process keeps
        them a few seconds (the callback's delivery state may lag by that much). Running tasks
        are always read afresh, so their progress never appears to go back, and so are failed
        ones whose CSV is still being written."""
        key = (merchant_id, task_id)
        issuance = self.res.caches.finished_tasks.get(key)
        if issuance is None:
            try:
                issuance = await self._read(merchant_id, task_id)
            except NotFoundError:
                return await self._status_change(merchant_id, task_id)
            # a physical batch's `fulfillment` still moves once it is issued: read afresh
            settled = not issuance.failed_csv_pending and not issuance.is_physical
            if issuance.status in FINISHED_TASK and settled:
                self.res.caches.finished_tasks.put(key, issuance)
        return self.describe(issuance)

    async def owner(self, task_id: str) -> str:
        """The id of the merchant whose task this is, for operators (404 when none)."""
        issuance = await self.res.db.issuances.task(task_id)
        if issuance is not None:
            return issuance.merchant_id
        change = await self.res.db.status_changes.get(task_id)
        if change is None:
            raise NotFoundError("Task not found.", code="task_not_found")
        return change.merchant_id

    async def _read(self, merchant_id: str, task_id: str) -> BulkIssuance:
        issuance = await self.res.db.issuances.task_of_merchant(merchant_id, task_id)
        if issuance is None:
            raise NotFoundError("Task not found.", code="task_not_found")
        return issuance

    async def _status_change(self, merchant_id: str, task_id: str) -> TaskOut:
        """A deactivate / activate of a batch (its own collection; not cached: rarely polled,
        and read afresh its progress never appears to go back)."""
        change = await self.res.db.status_changes.of_merchant(merchant_id, task_id)
        if change is None:
            raise NotFoundError("Task not found.", code="task_not_found")
        url = self.res.store.presigned_get(change.csv_key) if change.csv_key else None
        return TaskOut.from_status_change(change, url)

    async def retry(self, merchant_id: str, task_id: str) -> RetriedTask:
        """Resumes a failed or stuck batch (see issuance/resume.py). This process forgets the
        finished task it may keep; another API process may show it for its last seconds."""
        retried = await resume.retry(self.res, await self._read(merchant_id, task_id))
        self.res.caches.finished_tasks.drop((merchant_id, task_id))
        return RetriedTask(self.describe(retried.issuance), retried.accepted)

    async def cancel(self, merchant_id: str, task_id: str) -> TaskOut:
        """Stops a queued batch (see issuance/cancel.py); idempotent."""
        cancelled = await cancel.cancel(self.res, await self._read(merchant_id, task_id))
        self.res.caches.finished_tasks.drop((merchant_id, task_id))
        return self.describe(cancelled)

    def describe(self, issuance: BulkIssuance) -> TaskOut:
        return TaskOut.from_issuance(issuance, IssuanceService(self.res).download_url(issuance))
