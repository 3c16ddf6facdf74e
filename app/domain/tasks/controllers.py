from litestar import Controller, get
from litestar.di import Provide

from app.domain.tasks.dependencies import provide_task_service
from app.domain.tasks.schemas import TaskOut
from app.domain.tasks.services import TaskService
from app.domain.urls import TASK
from app.lib.types import ObjectIdPath


class TaskController(Controller):
    tags = ["Tasks"]
    dependencies = {"tasks": Provide(provide_task_service, sync_to_thread=False)}

    @get(TASK, operation_id="getTask", summary="Poll a queued bulk issuance")
    async def get_task(self, merchant_id: str, taskId: ObjectIdPath, tasks: TaskService) -> TaskOut:
        return await tasks.get(merchant_id, taskId)
