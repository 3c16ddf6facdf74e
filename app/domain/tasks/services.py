from app.domain.issuance.services import IssuanceService
from app.domain.tasks.schemas import TaskOut
from app.lib.errors import NotFoundError
from app.storage.models import BulkIssuance
from app.storage.resources import Resources
from app.storage.states import FINISHED_TASK


class TaskService:
    def __init__(self, resources: Resources) -> None:
        self.res = resources

    async def get(self, merchant_id: str, task_id: str) -> TaskOut:
        """Finished tasks no longer change but clients keep polling them: the process keeps
        them a few seconds (the callback's delivery state may lag by that much). Running tasks
        are always read afresh, so their progress never appears to go back."""
        key = (merchant_id, task_id)
        issuance = self.res.caches.finished_tasks.get(key)
        if issuance is None:
            issuance = await self._read(merchant_id, task_id)
            if issuance.status in FINISHED_TASK:
                self.res.caches.finished_tasks.put(key, issuance)
        return self.describe(issuance)

    async def _read(self, merchant_id: str, task_id: str) -> BulkIssuance:
        issuance = await self.res.db.issuances.task_of_merchant(merchant_id, task_id)
        if issuance is None:
            raise NotFoundError("Task not found.", code="task_not_found")
        return issuance

    def describe(self, issuance: BulkIssuance) -> TaskOut:
        return TaskOut.from_issuance(issuance, IssuanceService(self.res).download_url(issuance))
