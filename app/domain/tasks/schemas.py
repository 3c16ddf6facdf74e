from pydantic import BaseModel

from app.lib.types import UtcDatetime


class TaskOut(BaseModel):
    taskId: str
    bulkIssuanceId: str
    programId: str
    status: str
    mode: str
    requestedCount: int
    issuedCount: int
    failedCount: int
    progress: float
    csvDownloadUrl: str | None
    error: str | None
    createdAt: UtcDatetime
    startedAt: UtcDatetime | None
    completedAt: UtcDatetime | None
