"""The completion callback: the finished task, POSTed signed to the program's callbackUrl.

Its state (pending → delivered | failed, attempts, lastError) is on the task. A delivery that
fails is retried by arq with backoff; a receiver may see one event twice (we retry when its
2xx got lost), so events carry a stable `id` to deduplicate on.
"""

import logging
from datetime import UTC, datetime

from bson import ObjectId

from app.domain.issuance.models import BulkIssuance
from app.domain.issuance.services import IssuanceService
from app.domain.tasks.services import describe_task
from app.domain.webhooks.delivery import merchant_secret, post_event
from app.lib.resources import Resources

log = logging.getLogger(__name__)


async def deliver(res: Resources, issuance_id: str) -> None:
    collection = BulkIssuance.get_pymongo_collection()
    issuance = await BulkIssuance.get(ObjectId(issuance_id))
    if issuance is None or not issuance.callback_url:
        return
    if (issuance.callback or {}).get("status") == "delivered":
        return
    await collection.update_one(
        {"_id": issuance.id},
        {
            "$set": {"callback.status": "pending", "callback.url": issuance.callback_url},
            "$inc": {"callback.attempts": 1},
        },
    )
    task = describe_task(issuance, IssuanceService(res).download_url(issuance))
    secret = await merchant_secret(res.vault, issuance.merchant_id)
    await post_event(
        issuance.callback_url,
        secret,
        f"bulk_issuance.{issuance.status}",
        task.model_dump(mode="json"),
        event_id=f"task-{issuance.task_id}",
    )
    await collection.update_one(
        {"_id": issuance.id},
        {
            "$set": {
                "callback.status": "delivered",
                "callback.lastError": None,
                "callback.deliveredAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            }
        },
    )
    log.info("callback for task %s delivered", issuance.task_id)


async def record_failure(issuance_id: str, error: str, final: bool) -> None:
    await BulkIssuance.get_pymongo_collection().update_one(
        {"_id": ObjectId(issuance_id), "callback.status": {"$ne": "delivered"}},
        {
            "$set": {
                "callback.lastError": error[:500],
                "callback.status": "failed" if final else "pending",
            }
        },
    )
