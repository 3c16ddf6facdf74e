from pydantic import BaseModel

from app.lib.types import UtcDatetime


class CallbackState(BaseModel):
    """Delivery of the completion callback to the program's callbackUrl."""

    status: str  # pending | delivered | failed
    attempts: int
    lastError: str | None = None
    deliveredAt: str | None = None


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
    callback: CallbackState | None = None
