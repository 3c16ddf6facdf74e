from app.domain.issuance.models import BulkIssuance
from app.domain.issuance.services import progress
from app.domain.tasks.schemas import CallbackState, TaskOut


def describe_task(issuance: BulkIssuance, csv_download_url: str | None) -> TaskOut:
    return TaskOut(
        taskId=issuance.task_id,
        bulkIssuanceId=str(issuance.id),
        programId=issuance.program_id,
        status=issuance.status,
        mode=issuance.mode,
        requestedCount=issuance.requested_count,
        issuedCount=issuance.issued_count,
        failedCount=issuance.failed_count,
        progress=progress(issuance),
        csvDownloadUrl=csv_download_url,
        error=issuance.error if issuance.status != "completed" else None,
        createdAt=issuance.created_at,
        startedAt=issuance.started_at,
        completedAt=issuance.completed_at,
        callback=CallbackState(**issuance.callback) if issuance.callback else None,
    )
