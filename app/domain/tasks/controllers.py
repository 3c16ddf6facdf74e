from litestar import Controller, Request, get
from litestar.di import Provide

from app.domain.issuance.dependencies import provide_issuance_service
from app.domain.issuance.services import IssuanceService
from app.domain.tasks.schemas import TaskOut
from app.domain.tasks.services import describe_task, finished_tasks
from app.lib.types import ObjectIdPath
from app.urls import TASK


class TaskController(Controller):
    tags = ["Tasks"]
    dependencies = {"issuance": Provide(provide_issuance_service, sync_to_thread=False)}

    @get(TASK, operation_id="getTask", summary="Poll a queued bulk issuance")
    async def get_task(
        self, request: Request, taskId: ObjectIdPath, issuance: IssuanceService
    ) -> TaskOut:
        merchant_id = request.user.merchant_id
        found = finished_tasks.get(merchant_id, taskId)
        if found is None:
            found = await issuance.get_by_task(merchant_id, taskId)
            finished_tasks.put(merchant_id, found)
        return describe_task(found, issuance.download_url(found))
