from datetime import datetime

from beanie import Document
from pydantic import BaseModel
from pymongo import ASCENDING, IndexModel

from app.lib.expiration import ExpirationOffset
from app.storage.models.base import CamelEmbedded
from app.storage.models.parts import Personalization, Recipient
from app.storage.states import (
    CardStatus,
    DeliveryStatus,
    IssuanceMode,
    NotificationChannel,
    TaskStatus,
)


class CallbackState(CamelEmbedded):
    """Delivery of the completion callback to the program's callbackUrl."""

    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    last_error: str | None = None
    delivered_at: str | None = None
    url: str | None = None


class PartClaim(BaseModel):
    """A lane's lease on an open part of a queued batch (issuance/parts.py)."""

    holder: str
    until_ms: int


class BulkIssuance(Document):
    """One bulk request: its parameters, its progress, and (async) its task id.

    Progress (`issued_count`) is only ever raised with `$max`, so it never goes back.
    A queued batch is a chain of short `advance` jobs; `step` numbers them, so a duplicate or
    late job for an old step does nothing, and `current_job` lets the sweeper find a lost one.
    Times the workers write with `$set` are epoch milliseconds (`*_ms`): nx-27017 turns a
    `$set` datetime into a string, and the sweeper needs range queries on them.
    """

    merchant_id: str
    program_id: str
    task_id: str  # async: the id clients poll; sync: equal to the issuance id
    is_async: bool
    mode: IssuanceMode
    status: TaskStatus
    requested_count: int
    issued_count: int = 0
    failed_count: int = 0
    initial_value: int  # minor units
    currency: str
    card_number_prefix: str
    is_physical: bool = False
    design_template: str | None = None
    shipping_config_id: str | None = None  # physical cards: where they ship
    personalization: Personalization | None = None
    name_line1_start_index: int | None = None  # numeric postfix of seq 0 (per program)
    name_line1_end_index: int | None = None
    expires_at: datetime  # set once, at acceptance: every card (and every resumed run) shares it
    expiration_offset: ExpirationOffset | None = None  # what expires_at was computed from
    token: str | None = None  # the client's own reference (unique per merchant: IssuanceToken)
    recipients: list[Recipient] | None = None
    notifications_open: bool = False  # recipients mode, until every notification is settled
    # the program's channels for a recipient with both an email and a phone (None: all)
    notification_channels: list[NotificationChannel] | None = None
    notifications_round: int = 0  # +1 on each reopening, so a sweep never closes a fresh round
    csv_key: str | None = None
    export_key: str | None = None  # the latest fresh export's CSV (POST .../export), if any
    csv_upload_id: str | None = None
    csv_parts: dict[str, str] = {}  # part number -> ETag of the multipart CSV upload
    # the parts several workers share (issuance/parts.py): who holds an open part, how far
    # each open part got, and at which recovery the helper lanes were last queued
    part_claims: dict[str, PartClaim] = {}
    part_issued: dict[str, int] = {}
    helpers_queued: int = -1
    error: str | None = None
    step: int = 0
    queue: str = "arq:queue"  # the arq queue of the deployment that accepted it
    current_job: str | None = None
    heartbeat_ms: int = 0
    recoveries: int = 0
    # a failed (or cancelled) queued batch: the CSV of the cards it did issue (failed_export),
    # and how often POST .../retry resumed it (each run writes its CSV under its own key)
    failed_csv_pending: bool = False
    failed_csv_key: str | None = None
    # its cards counted once no lane can still be inserting (failed_export.settle)
    cards_settled: bool = True
    resumes: int = 0
    callback_url: str | None = None
    callback: CallbackState | None = None
    # what its cards were last set to (deactivate/activate), by the change it names
    card_status: CardStatus = CardStatus.ACTIVE
    # `scheduled` cards become active then (issuance/activation.py); ms for the sweeper's query
    activates_at: datetime | None = None
    activates_ms: int | None = None
    status_change_id: str | None = None
    # physical: its cards' moves out of CREATED, per fulfillment status (`$inc`; CREATED is
    # then the issued count plus its entry), and the contribution each order change made
    # ("<orderId>_<change>" → its encoded deltas), so a change is counted once however often
    # it is tallied (fulfillment/tally.py)
    fulfillment_counts: dict[str, int] = {}
    fulfillment_tally: dict[str, str] = {}
    created_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None

    class Settings:
        name = "bulk_issuances"
        indexes = [
            IndexModel([("task_id", ASCENDING)], unique=True),
            IndexModel([("merchant_id", ASCENDING), ("program_id", ASCENDING)]),
            IndexModel([("merchant_id", ASCENDING), ("token", ASCENDING)]),
            IndexModel([("status", ASCENDING), ("heartbeat_ms", ASCENDING)]),
            # the notification sweep: the few batches with a notification still to send
            IndexModel([("notifications_open", ASCENDING), ("queue", ASCENDING)]),
            # the activation sweep: the few batches still scheduled
            IndexModel([("card_status", ASCENDING), ("activates_ms", ASCENDING)]),
        ]


class RequestKey(Document):
    """The durable claim of a bulk request's Idempotency-Key: which issuance it produced."""

    id: str  # type: ignore[assignment]  # sha256 of merchant id + key
    issuance_id: str
    fingerprint: str  # sha256 of the program and the request body
    expires_at: datetime  # a TTL index removes the claim then (nx-27017 honours it too)

    class Settings:
        name = "request_keys"
        indexes = [IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0)]


class IssuanceToken(Document):
    """A merchant's claim on a bulk issuance token. Its `_id` (merchant id + token) is the unique
    index that keeps a token to one issuance per merchant; it is taken before anything is
    issued (nx-27017 ignores partial and sparse indexes, so not on the optional field itself)."""

    id: str  # type: ignore[assignment]  # "<merchant id>:<token>"
    merchant_id: str
    token: str
    issuance_id: str
    request_key: str | None = None  # the Idempotency-Key claim of the request that took it
    claimed_ms: int  # epoch ms (nx-27017 turns a `$set` datetime into a string)

    class Settings:
        name = "issuance_tokens"
