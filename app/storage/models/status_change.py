from datetime import datetime

from beanie import Document
from pymongo import ASCENDING, IndexModel

from app.storage.states import SWITCHED_TO, CardStatus, IssuanceMode, TaskStatus, TaskType


class StatusChange(Document):
    """A deactivate or activate of every card of one bulk issuance, or a fresh CSV export of
    them (POST .../export, issuance/reexport.py); its id is the task id.

    A collection of its own, not fields on the bulk issuance: the issuance's task fields
    (status, progress, `current_job`, heartbeat) describe its issuing, which a later status
    change must not disturb (nor the issuing sweeper see), and a batch may be switched many
    times. The issuance names its latest change (`status_change_id`).

    Large batches are switched by a chain of short jobs, like issuing: seqs below `done_seq`
    are switched (it only rises, `$max`), `current_job` names the owner, `heartbeat_ms` lets
    the sweeper find a chain that broke. Inline changes are stored the same way, so a request
    that died half-way is finished by the sweeper too.
    """

    merchant_id: str
    program_id: str
    bulk_issuance_id: str
    task_type: TaskType  # DEACTIVATE | ACTIVATE | EXPORT
    mode: IssuanceMode  # the batch's, shown on the task
    status: TaskStatus
    card_count: int  # the batch's cards when the change was asked for
    end_seq: int  # seqs [0, end_seq) are switched: the batch's requested count
    done_seq: int = 0
    is_async: bool
    error: str | None = None
    step: int = 0
    queue: str = "arq:queue"
    current_job: str | None = None
    heartbeat_ms: int = 0
    recoveries: int = 0
    # an export: its CSV (a multipart upload, one part per CSV_PART_ROWS seqs from done_seq)
    csv_key: str | None = None
    csv_upload_id: str | None = None
    csv_parts: dict[str, str] = {}
    created_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None

    @property
    def target(self) -> CardStatus:
        """The status the cards are switched to."""
        return SWITCHED_TO[self.task_type]

    class Settings:
        name = "status_changes"
        indexes = [IndexModel([("status", ASCENDING), ("heartbeat_ms", ASCENDING)])]
