from app.domain.issuance.schemas import progress
from app.lib.schema import ApiResponse
from app.lib.types import UtcDatetime
from app.storage.models import BulkIssuance, CallbackState
from app.storage.states import DeliveryStatus, IssuanceMode, TaskStatus


class CallbackOut(ApiResponse):
    """Delivery of the completion callback to the program's callbackUrl."""

    status: DeliveryStatus
    attempts: int
    last_error: str | None = None
    delivered_at: str | None = None

    @classmethod
    def from_state(cls, state: CallbackState) -> "CallbackOut":
        return cls(
            status=state.status,
            attempts=state.attempts,
            last_error=state.last_error,
            delivered_at=state.delivered_at,
        )


class TaskOut(ApiResponse):
    task_id: str
    bulk_issuance_id: str
    program_id: str
    status: TaskStatus
    mode: IssuanceMode
    requested_count: int
    issued_count: int
    failed_count: int
    progress: float
    csv_download_url: str | None
    error: str | None
    created_at: UtcDatetime
    started_at: UtcDatetime | None
    completed_at: UtcDatetime | None
    callback: CallbackOut | None = None

    @classmethod
    def from_issuance(cls, issuance: BulkIssuance, csv_url: str | None) -> "TaskOut":
        return cls(
            task_id=issuance.task_id,
            bulk_issuance_id=str(issuance.id),
            program_id=issuance.program_id,
            status=issuance.status,
            mode=issuance.mode,
            requested_count=issuance.requested_count,
            issued_count=issuance.issued_count,
            failed_count=issuance.failed_count,
            progress=progress(issuance),
            csv_download_url=csv_url,
            error=issuance.error if issuance.status != TaskStatus.COMPLETED else None,
            created_at=issuance.created_at,
            started_at=issuance.started_at,
            completed_at=issuance.completed_at,
            callback=CallbackOut.from_state(issuance.callback) if issuance.callback else None,
        )
