"""The webhook outbox: every query of the `webhook_deliveries` collection.

A worker claims a delivery by setting its lease (one `find_one_and_update` on a pending,
due, unleased row) and records the attempt's outcome only while it still holds that lease,
so two workers never send it at once and a late one never overwrites a newer outcome.
"""

from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from app.storage.models import WebhookDelivery
from app.storage.repositories.paging import newest_first_page
from app.storage.states import DeliveryStatus, EventType

_PENDING = DeliveryStatus.PENDING


def _doc(found: dict[str, Any] | None) -> WebhookDelivery | None:
    return None if found is None else WebhookDelivery.model_validate(found)


class WebhookDeliveryRepository:
    @property
    def collection(self) -> AsyncCollection[dict[str, Any]]:
        return WebhookDelivery.get_pymongo_collection()

    # ----------------------------------------------------------------- create, read, list

    async def insert_if_new(self, delivery: WebhookDelivery) -> bool:
        """False when a delivery of its event to its URL exists already (the step ran again)."""
        try:
            await delivery.insert()
        except DuplicateKeyError:
            return False
        return True

    async def get(self, delivery_id: str) -> WebhookDelivery | None:
        if not ObjectId.is_valid(delivery_id):
            return None
        return await WebhookDelivery.get(ObjectId(delivery_id))

    async def of_event(self, event_id: str, url: str) -> WebhookDelivery | None:
        return await WebhookDelivery.find_one({"event_id": event_id, "url": url})

    async def of_merchant(self, merchant_id: str, delivery_id: str) -> WebhookDelivery | None:
        """Another merchant's delivery is indistinguishable from a missing one."""
        return await WebhookDelivery.find_one(
            {"_id": ObjectId(delivery_id), "merchant_id": merchant_id}
        )

    async def latest_of_subject(self, subject: str) -> WebhookDelivery | None:
        """The subject's (a task's) delivery of its latest round."""
        found = WebhookDelivery.find({"subject": subject}).sort("-round").limit(1)
        latest = await found.to_list()
        return latest[0] if latest else None

    async def page_of_merchant(
        self, merchant_id: str, state: DeliveryStatus | None, limit: int, cursor: str | None
    ) -> tuple[list[WebhookDelivery], str | None]:
        query: dict[str, Any] = {"merchant_id": merchant_id}
        if state:
            query["state"] = state
        return await newest_first_page(WebhookDelivery, query, limit, cursor)

    # ----------------------------------------------------------------- due, claimed

    async def make_due(self, delivery_id: str, now_ms: int) -> bool:
        """A pending delivery becomes due now (the change it announces is made)."""
        moved = await self.collection.update_one(
            {"_id": ObjectId(delivery_id), "state": _PENDING, "next_attempt_ms": {"$gt": now_ms}},
            {"$set": {"next_attempt_ms": now_ms}},
        )
        return bool(moved.modified_count)

    async def drop_unsent(self, delivery_id: str) -> None:
        """Deletes a delivery never attempted (held for a change that did not happen)."""
        await self.collection.delete_one(
            {"_id": ObjectId(delivery_id), "state": _PENDING, "attempts": 0}
        )

    async def claim_due(
        self, queue: str, now_ms: int, lease_until_ms: int
    ) -> WebhookDelivery | None:
        """The queue's most overdue pending delivery, leased to the caller until then."""
        claimed = await self.collection.find_one_and_update(
            {
                "queue": queue,
                "state": _PENDING,
                "next_attempt_ms": {"$lte": now_ms},
                "lease_until_ms": {"$lt": now_ms},
            },
            {"$set": {"lease_until_ms": lease_until_ms}},
            sort=[("next_attempt_ms", 1)],
            return_document=ReturnDocument.AFTER,
        )
        return _doc(claimed)

    async def claim(
        self, delivery_id: str, now_ms: int, lease_until_ms: int
    ) -> WebhookDelivery | None:
        """This delivery, if it is pending, due and not leased, leased to the caller."""
        claimed = await self.collection.find_one_and_update(
            {
                "_id": ObjectId(delivery_id),
                "state": _PENDING,
                "next_attempt_ms": {"$lte": now_ms},
                "lease_until_ms": {"$lt": now_ms},
            },
            {"$set": {"lease_until_ms": lease_until_ms}},
            return_document=ReturnDocument.AFTER,
        )
        return _doc(claimed)

    # ----------------------------------------------------------------- an attempt's outcome

    async def postpone(self, delivery: WebhookDelivery, next_attempt_ms: int) -> None:
        """Not sent yet (the change it announces is not visible yet): no attempt counted."""
        await self._while_leased(
            delivery, {"$set": {"next_attempt_ms": next_attempt_ms, "lease_until_ms": 0}}
        )

    async def set_content(
        self, delivery: WebhookDelivery, event_type: EventType, data: dict[str, Any]
    ) -> None:
        """What the event says, as rendered at send time (the task as it ended)."""
        await self._while_leased(delivery, {"$set": {"type": event_type, "data": data}})

    async def mark_delivered(
        self, delivery: WebhookDelivery, status_code: int, now_ms: int
    ) -> WebhookDelivery | None:
        return await self._while_leased(
            delivery,
            {
                "$set": {
                    "state": DeliveryStatus.DELIVERED,
                    "delivered_ms": now_ms,
                    "last_status_code": status_code,
                    "last_error": None,
                    "lease_until_ms": 0,
                },
                "$inc": {"attempts": 1},
            },
        )

    async def mark_attempt_failed(
        self,
        delivery: WebhookDelivery,
        error: str,
        status_code: int | None,
        next_attempt_ms: int | None,
        counted: bool = True,
    ) -> WebhookDelivery | None:
        """One attempt more (unless not `counted`: nothing was sent); retried at
        `next_attempt_ms`, or `failed` when that is None."""
        fields: dict[str, Any] = {
            "last_error": error[:500],
            "last_status_code": status_code,
            "lease_until_ms": 0,
        }
        if next_attempt_ms is None:
            fields["state"] = DeliveryStatus.FAILED
        else:
            fields["next_attempt_ms"] = next_attempt_ms
        return await self._while_leased(
            delivery, {"$set": fields, "$inc": {"attempts": 1 if counted else 0}}
        )

    async def _while_leased(
        self, delivery: WebhookDelivery, update: dict[str, Any]
    ) -> WebhookDelivery | None:
        """Applies `update` only while the caller's lease holds (None when it was lost)."""
        found = await self.collection.find_one_and_update(
            {"_id": delivery.id, "lease_until_ms": delivery.lease_until_ms},
            update,
            return_document=ReturnDocument.AFTER,
        )
        return _doc(found)

    # ----------------------------------------------------------------- gone, redelivered

    async def pending_to_url(self, merchant_id: str, url: str) -> list[str]:
        """Ids of the merchant's pending deliveries to `url` (the 410 rule)."""
        found = self.collection.find(
            {"merchant_id": merchant_id, "state": _PENDING, "url": url}, {"_id": 1}
        )
        return [str(doc["_id"]) async for doc in found]

    async def fail_pending(self, delivery_id: str, error: str) -> WebhookDelivery | None:
        """A pending delivery given up on without an attempt (its endpoint is gone)."""
        found = await self.collection.find_one_and_update(
            {"_id": ObjectId(delivery_id), "state": _PENDING},
            {"$set": {"state": DeliveryStatus.FAILED, "last_error": error[:500]}},
            return_document=ReturnDocument.AFTER,
        )
        return _doc(found)

    async def redeliver(
        self, delivery_id: str, queue: str, now_ms: int, retry_until_ms: int
    ) -> WebhookDelivery | None:
        """Pending and due now on `queue`, on a fresh schedule (attempts from 0), whatever
        its state; a send in flight loses its lease, so its outcome is not recorded."""
        found = await self.collection.find_one_and_update(
            {"_id": ObjectId(delivery_id)},
            {
                "$set": {
                    "state": _PENDING,
                    "queue": queue,
                    "attempts": 0,
                    "next_attempt_ms": now_ms,
                    "retry_until_ms": retry_until_ms,
                    "lease_until_ms": 0,
                    "delivered_ms": None,
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        return _doc(found)
