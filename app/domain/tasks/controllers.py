from litestar import Controller, Response, get, post
from litestar.di import Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from app.domain.tasks.dependencies import provide_task_service
from app.domain.tasks.schemas import TaskOut
from app.domain.tasks.services import TaskService
from app.domain.urls import TASK, TASK_CANCEL, TASK_RETRY, task_location
from app.lib.openapi import documented
from app.lib.polling import retry_after
from app.lib.types import ObjectIdPath
from app.storage.states import TaskStatus


class TaskController(Controller):
    tags = ["Tasks"]
    dependencies = {"tasks": Provide(provide_task_service, sync_to_thread=False)}

    @get(TASK, operation_id="getTask", summary="Poll a queued bulk issuance", **documented(404))
    async def get_task(
        self, merchant_id: str, taskId: ObjectIdPath, tasks: TaskService
    ) -> Response[TaskOut]:
        task = await tasks.get(merchant_id, taskId)
        return Response(task, headers=_polling_hint(task))

    @post(
        TASK_RETRY,
        operation_id="retryTask",
        summary="Resume a failed or stuck queued bulk issuance",
        description="A failed batch goes on from the cards it issued to its requested count, "
        "never issuing a card twice (202, the task running again); a stuck one (no progress "
        "for STALE_TASK_SECONDS and no live job) is queued again. Idempotent: a task under "
        "way is answered as it is (202), a completed one too (200). When it completes, its "
        "CSV holds every card, replacing the failed run's CSV.",
        status_code=HTTP_202_ACCEPTED,
        **documented(
            404,
            post=True,
            extra={
                HTTP_200_OK: ResponseSpec(
                    data_container=TaskOut, description="Completed already: nothing to do"
                )
            },
        ),
    )
    async def retry_task(
        self, merchant_id: str, taskId: ObjectIdPath, tasks: TaskService
    ) -> Response[TaskOut]:
        retried = await tasks.retry(merchant_id, taskId)
        if not retried.accepted:
            return Response(retried.task, status_code=HTTP_200_OK)
        headers = {"Location": task_location(taskId), **_polling_hint(retried.task)}
        return Response(retried.task, status_code=HTTP_202_ACCEPTED, headers=headers)

    @post(
        TASK_CANCEL,
        operation_id="cancelTask",
        summary="Cancel a queued bulk issuance",
        description="Issuing stops within a few seconds (a chunk under way finishes). The "
        "cards issued stay valid; the task ends `cancelled`, and once its cards are counted "
        "(`issuedCount`; `failedCount` the cards not issued) their CSV follows in "
        "`csvDownloadUrl`, and the callback `bulk_issuance.cancelled` is sent. Idempotent: a "
        "cancelled task is answered as it is. A completed or failed task is a 409 "
        "`task_finished`; a cancelled task is not retried (409 `task_cancelled`).",
        status_code=HTTP_200_OK,
        **documented(404, 409, post=True),
    )
    async def cancel_task(
        self, merchant_id: str, taskId: ObjectIdPath, tasks: TaskService
    ) -> TaskOut:
        return await tasks.cancel(merchant_id, taskId)


def _polling_hint(task: TaskOut) -> dict[str, str]:
    """Retry-After while the task is under way; none once it finished."""
    if task.status not in (TaskStatus.PENDING, TaskStatus.RUNNING):
        return {}
    return retry_after(task.requested_count - task.issued_count - task.failed_count)
