from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.di import Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED

from app.domain.issuance.dependencies import (
    provide_issuance_service,
    provide_status_change_service,
)
from app.domain.issuance.schemas import (
    BulkIssuanceAsyncResponse,
    BulkIssuanceOut,
    BulkIssuanceSyncResponse,
    BulkIssueGiftCardRequest,
)
from app.domain.issuance.services import IssuanceService
from app.domain.issuance.status_changes import StatusChangeService, Switched
from app.domain.urls import (
    BULK_ISSUANCE,
    BULK_ISSUANCE_ACTIVATE,
    BULK_ISSUANCE_DEACTIVATE,
    BULK_ISSUANCE_EXPORT,
    BULK_ISSUE,
    task_location,
)
from app.lib.openapi import documented
from app.lib.pagination import Page
from app.lib.polling import retry_after
from app.lib.types import TOKEN_PATTERN, BulkIssuanceRef, CursorQuery, LimitQuery, ObjectIdPath
from app.storage.states import TaskType

IdempotencyKey = Annotated[
    str | None,
    Parameter(
        header="Idempotency-Key",
        max_length=255,
        description="Makes the request safely retryable for 90 days (IDEMPOTENCY_DAYS)",
    ),
]

_SWITCH_DESCRIPTION = (
    "Sets the status of every card of the batch, physical ones included (a card already in a "
    "fulfillment order stays in it). Up to the program's syncThreshold cards it is done inline "
    "(200, the bulk issuance); larger batches are queued (202 with a task id to poll). Asking "
    "again while it runs answers with the same task; 409 `batch_in_progress` while the batch "
    "is still issuing, 409 `status_change_in_progress` while the opposite change runs."
)
# the 200 declared alone: the union of the handler's type would be a `oneOf` that a body of
# either shape can match twice
_SWITCH_RESPONSES = {
    HTTP_200_OK: ResponseSpec(data_container=BulkIssuanceOut, description="Done inline"),
    HTTP_202_ACCEPTED: ResponseSpec(
        data_container=BulkIssuanceAsyncResponse, description="Accepted; poll the task"
    ),
}


class IssuanceController(Controller):
    tags = ["Gift Cards"]
    dependencies = {
        "issuance": Provide(provide_issuance_service, sync_to_thread=False),
        "status_changes": Provide(provide_status_change_service, sync_to_thread=False),
    }

    @post(
        BULK_ISSUE,
        operation_id="bulkIssueGiftCards",
        summary="Issue multiple gift cards",
        description="Up to the program's syncThreshold the cards are issued inline (201); "
        "larger batches are queued (202 with a task id to poll). A `token` another of your bulk "
        "issuances has is a 409 `token_in_use`, with nothing issued.",
        status_code=HTTP_201_CREATED,
        **documented(
            404,
            post=True,
            extra={
                HTTP_202_ACCEPTED: ResponseSpec(
                    data_container=BulkIssuanceAsyncResponse, description="Accepted; poll the task"
                )
            },
        ),
    )
    async def bulk_issue(
        self,
        merchant_id: str,
        programId: ObjectIdPath,
        data: BulkIssueGiftCardRequest,
        issuance: IssuanceService,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[BulkIssuanceSyncResponse | BulkIssuanceAsyncResponse]:
        issued = await issuance.bulk_issue(merchant_id, programId, data, idempotency_key)
        # answered from MongoDB because Redis had lost the key's record
        headers = {"Idempotent-Replayed": "true"} if issued.replayed else {}
        if isinstance(issued.result, BulkIssuanceAsyncResponse):
            headers["Location"] = task_location(issued.result.task_id)
            headers.update(retry_after(data.size))
            return Response(issued.result, status_code=HTTP_202_ACCEPTED, headers=headers)
        return Response(issued.result, status_code=HTTP_201_CREATED, headers=headers)

    @get(
        BULK_ISSUE,
        operation_id="listBulkIssuances",
        summary="A program's bulk issuances",
        **documented(404),
    )
    async def list_all(
        self,
        merchant_id: str,
        programId: ObjectIdPath,
        issuance: IssuanceService,
        limit: LimitQuery = 100,
        cursor: CursorQuery = None,
        token: Annotated[
            str | None, Parameter(pattern=TOKEN_PATTERN, description="only the batch with it")
        ] = None,
    ) -> Page[BulkIssuanceOut]:
        return await issuance.page(merchant_id, programId, limit, cursor, token)

    @get(
        BULK_ISSUANCE,
        operation_id="getBulkIssuance",
        summary="One bulk issuance (by its id or its token)",
        **documented(404),
    )
    async def get_one(
        self, merchant_id: str, bulkIssuanceId: BulkIssuanceRef, issuance: IssuanceService
    ) -> BulkIssuanceOut:
        return await issuance.get(merchant_id, bulkIssuanceId)

    @post(
        BULK_ISSUANCE_DEACTIVATE,
        operation_id="deactivateBulkIssuance",
        summary="Deactivate every card of a bulk issuance",
        description=_SWITCH_DESCRIPTION,
        status_code=HTTP_200_OK,
        **documented(404, post=True, extra=_SWITCH_RESPONSES),
    )
    async def deactivate(
        self,
        merchant_id: str,
        bulkIssuanceId: BulkIssuanceRef,
        status_changes: StatusChangeService,
        idempotency_key: IdempotencyKey = None,  # honoured by the idempotency middleware
    ) -> Response[BulkIssuanceOut | BulkIssuanceAsyncResponse]:
        switched = await status_changes.switch(merchant_id, bulkIssuanceId, TaskType.DEACTIVATE)
        return _switch_response(switched)

    @post(
        BULK_ISSUANCE_ACTIVATE,
        operation_id="activateBulkIssuance",
        summary="Activate again every card of a bulk issuance",
        description=_SWITCH_DESCRIPTION,
        status_code=HTTP_200_OK,
        **documented(404, post=True, extra=_SWITCH_RESPONSES),
    )
    async def activate(
        self,
        merchant_id: str,
        bulkIssuanceId: BulkIssuanceRef,
        status_changes: StatusChangeService,
        idempotency_key: IdempotencyKey = None,  # honoured by the idempotency middleware
    ) -> Response[BulkIssuanceOut | BulkIssuanceAsyncResponse]:
        switched = await status_changes.switch(merchant_id, bulkIssuanceId, TaskType.ACTIVATE)
        return _switch_response(switched)

    @post(
        BULK_ISSUANCE_EXPORT,
        operation_id="exportBulkIssuance",
        summary="Write a fresh CSV of a bulk issuance's cards",
        description="Any time after the batch ended (its first CSV is deleted after "
        "EXPORT_RETENTION_DAYS): 202 with a task (`type: export`) that writes a new CSV of its "
        "cards, rebuilt from the vault; once completed the task's `csvDownloadUrl`, and the "
        "batch's from then on, link it. A batch still issuing is a 409 `batch_in_progress`.",
        status_code=HTTP_202_ACCEPTED,
        **documented(404, 409, post=True),
    )
    async def export(
        self,
        merchant_id: str,
        bulkIssuanceId: BulkIssuanceRef,
        status_changes: StatusChangeService,
        idempotency_key: IdempotencyKey = None,  # honoured by the idempotency middleware
    ) -> Response[BulkIssuanceAsyncResponse]:
        task = await status_changes.export(merchant_id, bulkIssuanceId)
        headers = {"Location": task_location(task.task_id), **retry_after(0)}
        return Response(task, status_code=HTTP_202_ACCEPTED, headers=headers)


def _switch_response(switched: Switched) -> Response[Switched]:
    if isinstance(switched, BulkIssuanceAsyncResponse):
        headers = {"Location": task_location(switched.task_id), **retry_after(0)}
        return Response(switched, status_code=HTTP_202_ACCEPTED, headers=headers)
    return Response(switched, status_code=HTTP_200_OK)
