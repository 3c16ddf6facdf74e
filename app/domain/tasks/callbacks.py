"""The completion callback: the finished task, POSTed signed to the program's callbackUrl.

Its state (pending → delivered | failed, attempts, lastError) is on the task. A delivery that
fails is retried by arq with backoff; a receiver may see one event twice (we retry when its
2xx got lost), so events carry a stable `id` to deduplicate on.
"""

import logging
from datetime import UTC, datetime

from app.domain.tasks.services import TaskService
from app.domain.webhooks.delivery import merchant_secret, post_event
from app.storage.resources import Resources
from app.storage.states import DeliveryStatus, EventType, TaskStatus

log = logging.getLogger(__name__)


async def deliver(res: Resources, issuance_id: str) -> None:
    issuance = await res.db.issuances.get(issuance_id)
    if issuance is None or not issuance.callback_url:
        return
    if issuance.callback is not None and issuance.callback.status == DeliveryStatus.DELIVERED:
        return
    await res.db.issuances.count_callback_attempt(str(issuance.id), issuance.callback_url)
    task = TaskService(res).describe(issuance)
    secret = await merchant_secret(res, issuance.merchant_id)
    event_type = (
        EventType.BULK_ISSUANCE_COMPLETED
        if issuance.status == TaskStatus.COMPLETED
        else EventType.BULK_ISSUANCE_FAILED
    )
    await post_event(
        issuance.callback_url,
        secret,
        event_type,
        task.model_dump(mode="json"),
        event_id=f"task-{issuance.task_id}",
    )
    delivered_at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    await res.db.issuances.mark_callback_delivered(str(issuance.id), delivered_at)
    log.info("callback for task %s delivered", issuance.task_id)


async def record_failure(res: Resources, issuance_id: str, error: str, final: bool) -> None:
    await res.db.issuances.record_callback_failure(issuance_id, error, final)
