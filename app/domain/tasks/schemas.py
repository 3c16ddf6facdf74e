from app.domain.issuance.fulfillment_summary import BatchFulfillmentOut
from app.domain.issuance.schemas import issued_count, progress
from app.lib.schema import ApiResponse
from app.lib.types import UtcDatetime
from app.storage.models import BulkIssuance, CallbackState, StatusChange
from app.storage.states import DeliveryStatus, IssuanceMode, TaskStatus, TaskType


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
    # bulk_issue; deactivate / activate: requestedCount is the batch's cards to switch,
    # issuedCount those switched so far; export: the cards to write, and the CSV once done
    type: TaskType = TaskType.BULK_ISSUE
    fulfillment: BatchFulfillmentOut | None = None  # a physical batch's (bulk issue tasks)

    @classmethod
    def from_status_change(cls, change: StatusChange, csv_url: str | None = None) -> "TaskOut":
        """A deactivate / activate, or an export (`csv_url`: its CSV, once completed)."""
        done = change.status == TaskStatus.COMPLETED
        return cls(
            task_id=str(change.id),
            bulk_issuance_id=change.bulk_issuance_id,
            program_id=change.program_id,
            status=change.status,
            mode=change.mode,
            requested_count=change.card_count,
            issued_count=change.card_count if done else min(change.done_seq, change.card_count),
            failed_count=0,
            progress=1.0 if done else round(change.done_seq / max(change.end_seq, 1), 4),
            csv_download_url=csv_url if done else None,
            error=change.error if not done else None,
            created_at=change.created_at,
            started_at=change.started_at,
            completed_at=change.completed_at,
            type=change.task_type,
        )

    @classmethod
    def from_issuance(cls, issuance: BulkIssuance, csv_url: str | None) -> "TaskOut":
        return cls(
            task_id=issuance.task_id,
            bulk_issuance_id=str(issuance.id),
            program_id=issuance.program_id,
            status=issuance.status,
            mode=issuance.mode,
            requested_count=issuance.requested_count,
            issued_count=issued_count(issuance),
            failed_count=issuance.failed_count,
            progress=progress(issuance),
            csv_download_url=csv_url,
            error=issuance.error if issuance.status != TaskStatus.COMPLETED else None,
            created_at=issuance.created_at,
            started_at=issuance.started_at,
            completed_at=issuance.completed_at,
            callback=CallbackOut.from_state(issuance.callback) if issuance.callback else None,
            fulfillment=BatchFulfillmentOut.from_issuance(issuance, issued_count(issuance)),
        )
