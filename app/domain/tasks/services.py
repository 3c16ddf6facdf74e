import time

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


class FinishedTaskCache:
    """Finished tasks (completed/failed) no longer change, but clients keep polling them: each
    API process keeps them for a few seconds and answers without a database read. Running
    tasks are always read afresh, so their progress can never appear to go back. (The
    callback's delivery state may lag by up to `ttl` seconds.)"""

    def __init__(self, ttl: float = 5.0, size: int = 4096) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: dict[tuple[str, str], tuple[float, BulkIssuance]] = {}

    def get(self, merchant_id: str, task_id: str) -> BulkIssuance | None:
        entry = self._entries.get((merchant_id, task_id))
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, merchant_id: str, issuance: BulkIssuance) -> None:
        if issuance.status not in ("completed", "failed"):
            return
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[(merchant_id, issuance.task_id)] = (time.monotonic() + self.ttl, issuance)


finished_tasks = FinishedTaskCache()
