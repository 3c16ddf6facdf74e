from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.di import Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED

from app.domain.issuance.dependencies import provide_issuance_service
from app.domain.issuance.schemas import (
    BulkIssuanceAsyncResponse,
    BulkIssuanceOut,
    BulkIssuanceSyncResponse,
    BulkIssueGiftCardRequest,
)
from app.domain.issuance.services import IssuanceService
from app.domain.urls import BULK_ISSUANCE, BULK_ISSUE, task_location
from app.lib.pagination import Page
from app.lib.types import CursorQuery, LimitQuery, ObjectIdPath

IdempotencyKey = Annotated[
    str | None,
    Parameter(
        header="Idempotency-Key",
        max_length=255,
        description="Makes the request safely retryable for 24 h",
    ),
]


class IssuanceController(Controller):
    tags = ["Gift Cards"]
    dependencies = {"issuance": Provide(provide_issuance_service, sync_to_thread=False)}

    @post(
        BULK_ISSUE,
        operation_id="bulkIssueGiftCards",
        summary="Issue multiple gift cards",
        description="Up to the program's syncThreshold the cards are issued inline (201); "
        "larger batches are queued (202 with a task id to poll).",
        status_code=HTTP_201_CREATED,
        responses={
            HTTP_202_ACCEPTED: ResponseSpec(
                data_container=BulkIssuanceAsyncResponse, description="Accepted; poll the task"
            )
        },
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
            return Response(issued.result, status_code=HTTP_202_ACCEPTED, headers=headers)
        return Response(issued.result, status_code=HTTP_201_CREATED, headers=headers)

    @get(BULK_ISSUE, operation_id="listBulkIssuances", summary="A program's bulk issuances")
    async def list_all(
        self,
        merchant_id: str,
        programId: ObjectIdPath,
        issuance: IssuanceService,
        limit: LimitQuery = 100,
        cursor: CursorQuery = None,
    ) -> Page[BulkIssuanceOut]:
        return await issuance.page(merchant_id, programId, limit, cursor)

    @get(BULK_ISSUANCE, operation_id="getBulkIssuance", summary="One bulk issuance")
    async def get_one(
        self, merchant_id: str, bulkIssuanceId: ObjectIdPath, issuance: IssuanceService
    ) -> BulkIssuanceOut:
        return await issuance.get(merchant_id, bulkIssuanceId)
