from datetime import datetime
from typing import Any

from beanie import Document
from pymongo import ASCENDING, IndexModel


class BulkIssuance(Document):
    """One bulk request: its parameters, its progress, and (async) its task id.

    Progress (`issued_count`) is only ever raised with `$max`, so it never goes back.
    """

    merchant_id: str
    program_id: str
    task_id: str  # async: the id clients poll; sync: equal to the issuance id
    is_async: bool
    mode: str  # "count" | "recipients"
    status: str  # pending | running | completed | failed
    requested_count: int
    issued_count: int = 0
    failed_count: int = 0
    initial_value: int  # minor units
    currency: str
    card_number_prefix: str
    is_physical: bool = False
    design_template: str | None = None
    expires_at: datetime
    recipients: list[dict[str, Any]] | None = None
    csv_key: str | None = None
    error: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None

    class Settings:
        name = "bulk_issuances"
        indexes = [
            IndexModel([("task_id", ASCENDING)], unique=True),
            IndexModel([("merchant_id", ASCENDING), ("program_id", ASCENDING)]),
        ]
