"""The fulfillment orders. Every move of an order's status, submission or manifest is a
conditional update (on the statuses it may move from, or on the progress it read), so two jobs
or two printer events never both move it."""

from collections.abc import AsyncIterator, Iterable
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from app.lib.types import now_ms
from app.storage.models import (
    BoxTracking,
    CutProgress,
    FulfillmentOrder,
    ManifestProgress,
    OrderBatch,
    WebhookState,
)
from app.storage.repositories.paging import newest_first_page
from app.storage.states import OrderStatus, SubmissionStatus

# An order shows once its first cards are claimed (a big one grows while its cut goes on in
# jobs), not before, nor when its cut came to nothing.
_VISIBLE = {"card_count": {"$gt": 0}}
# the time an order's move to a status stamps
_STAMPS = {OrderStatus.SHIPPED: "shipped_ms", OrderStatus.DELIVERED: "delivered_ms"}


def _made(change: int) -> dict[str, bool]:
    """Set in the same update as a move of the status: change `change` moved it (its held
    webhook rows are sent only if so)."""
    return {f"status_changes.{change}": True}


def _oid(order_id: str | ObjectId) -> ObjectId:
    return order_id if isinstance(order_id, ObjectId) else ObjectId(order_id)


class FulfillmentOrderRepository:
    @property
    def collection(self) -> AsyncCollection[dict[str, Any]]:
        return FulfillmentOrder.get_pymongo_collection()

    # ----------------------------------------------------------------- create, read, list

    async def insert_if_new(self, order: FulfillmentOrder) -> bool:
        """False when an order with its id exists (a resumed AUTO cut-off's)."""
        try:
            await order.insert()
        except DuplicateKeyError:
            return False
        return True

    async def get(self, order_id: str | ObjectId) -> FulfillmentOrder | None:
        return await FulfillmentOrder.get(_oid(order_id))

    async def visible_of_merchant(self, merchant_id: str, order_id: str) -> FulfillmentOrder | None:
        """Another merchant's order is indistinguishable from a missing one."""
        return await FulfillmentOrder.find_one(
            {"_id": ObjectId(order_id), "merchant_id": merchant_id, **_VISIBLE}
        )

    async def visible(self, order_id: str, merchant_id: str | None) -> FulfillmentOrder | None:
        """The order if it shows (of `merchant_id`, or of any merchant for an operator)."""
        owner = {} if merchant_id is None else {"merchant_id": merchant_id}
        return await FulfillmentOrder.find_one({"_id": ObjectId(order_id), **owner, **_VISIBLE})

    async def page_visible(
        self,
        merchant_id: str,
        config_id: str | None,
        status: OrderStatus | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[FulfillmentOrder], str | None]:
        query: dict[str, Any] = {"merchant_id": merchant_id, **_VISIBLE}
        if config_id:
            query["shipping_config_id"] = config_id
        if status:
            query["status"] = status
        return await newest_first_page(FulfillmentOrder, query, limit, cursor)

    async def cancelled_of_config(self, config_id: str) -> list[FulfillmentOrder]:
        """The configuration's cancelled orders (their cards went back to CREATED)."""
        query = {"shipping_config_id": config_id, "status": OrderStatus.CANCELLED}
        return await FulfillmentOrder.find(query).to_list()

    async def delete_if_empty(self, order_id: str | ObjectId) -> None:
        """A cut that claimed nothing leaves no order."""
        await self.collection.delete_one({"_id": _oid(order_id), "card_count": 0})

    async def delete_pending(self, order_id: str | ObjectId) -> None:
        await self.collection.delete_one({"_id": _oid(order_id), "status": OrderStatus.PENDING})

    # ----------------------------------------------------------------- the cut, box by box

    async def plan_cut(self, order_id: str | ObjectId, progress: CutProgress) -> None:
        """Records the cut's plan, unless one is recorded already (a resumed cut keeps its)."""
        await self.collection.update_one(
            {"_id": _oid(order_id), "cut": None}, {"$set": {"cut": progress.model_dump()}}
        )

    async def advance_cut(
        self, order_id: str | ObjectId, before: CutProgress, after: CutProgress
    ) -> bool:
        """Moves the cut on from `before` (compare-and-set on where it stood): False when
        another run moved it first; `card_count` shows the cards claimed so far."""
        done = await self.collection.update_one(
            {
                "_id": _oid(order_id),
                "cutting": True,
                "cut.batch": before.batch,
                "cut.seq": before.seq,
                "cut.boxes": before.boxes,
            },
            {"$set": {"cut": after.model_dump(), "card_count": after.cards}},
        )
        return done.modified_count == 1

    async def end_cut(
        self, order_id: str | ObjectId, batches: list[OrderBatch], card_count: int, boxes: int
    ) -> None:
        fields = {
            "batches": [b.model_dump() for b in batches],
            "card_count": card_count,
            "box_count": boxes,
            "cutting": False,
        }
        await self.collection.update_one({"_id": _oid(order_id)}, {"$set": fields})

    async def set_box_tracking(
        self, order_id: str | ObjectId, box: int, tracking: BoxTracking
    ) -> None:
        await self.collection.update_one(
            {"_id": _oid(order_id)}, {"$set": {f"boxes.{box}": tracking.model_dump()}}
        )

    async def record_batches(
        self, order_id: str | ObjectId, batches: list[OrderBatch], card_count: int
    ) -> None:
        fields = {"batches": [b.model_dump() for b in batches], "card_count": card_count}
        await self.collection.update_one({"_id": _oid(order_id)}, {"$set": fields})

    async def quiet_pending(self, quiet_since_ms: int) -> AsyncIterator[str]:
        """Ids of the PENDING orders created before `quiet_since_ms` whose manifest (if a chain
        of jobs is writing one) has not moved on since."""
        stuck = self.collection.find(
            {"status": OrderStatus.PENDING, "created_ms": {"$lt": quiet_since_ms}},
            {"_id": 1, "manifest_progress": 1, "resubmitted_ms": 1, "cut": 1},
        )
        async for doc in stuck:
            if ((doc.get("manifest_progress") or {}).get("updated_ms") or 0) >= quiet_since_ms:
                continue  # a chain of manifest jobs is still moving it on
            if ((doc.get("cut") or {}).get("updated_ms") or 0) >= quiet_since_ms:
                continue  # a chain of cut jobs is still claiming its boxes
            if (doc.get("resubmitted_ms") or 0) >= quiet_since_ms:
                continue  # just resubmitted: its fresh job is queued
            yield str(doc["_id"])

    # ----------------------------------------------------------------- changes

    async def next_change(self, order_id: str | ObjectId) -> int:
        """The number of the order's next change (`$inc`)."""
        order = await self.collection.find_one_and_update(
            {"_id": _oid(order_id)}, {"$inc": {"changes": 1}}, return_document=ReturnDocument.AFTER
        )
        if order is None:
            raise LookupError(f"fulfillment order {order_id} is gone")
        return int(order["changes"])

    async def record_change(
        self, order_id: str | ObjectId, change: int, status: bool, cards: bool
    ) -> None:
        """Change `change` is made: it moved the order's status (`status`; a move records
        this itself) and/or its cards (`cards`: written once they moved)."""
        made = {f"status_changes.{change}": True} if status else {}
        if cards:
            made[f"card_changes.{change}"] = True
        if made:
            await self.collection.update_one({"_id": _oid(order_id)}, {"$set": made})

    async def mark_tallied(self, order_id: str | ObjectId, change: int) -> None:
        """Change `change`'s card moves are counted on their bulk issuances."""
        await self.collection.update_one(
            {"_id": _oid(order_id)}, {"$set": {f"tallied.{change}": True}}
        )

    async def mark_cards_moved(self, order_id: str | ObjectId) -> None:
        """From now on its cards' statuses are counted, not assumed ORDERED."""
        await self.collection.update_one({"_id": _oid(order_id)}, {"$set": {"cards_moved": True}})

    async def move_status(
        self,
        order_id: str | ObjectId,
        to: OrderStatus,
        allowed_from: Iterable[OrderStatus],
        change: int,
        carrier: str | None = None,
        tracking_number: str | None = None,
    ) -> bool:
        """Moves the order to `to` if it is in `allowed_from` (stamping the time of a move to
        SHIPPED or DELIVERED) as its change `change`; False when it was not."""
        changes: dict[str, Any] = {"status": to, **_made(change)}
        stamp = _STAMPS.get(to)
        if stamp:
            changes[stamp] = now_ms()
        if carrier:
            changes["carrier"] = carrier
        if tracking_number:
            changes["tracking_number"] = tracking_number
        moved = await self.collection.update_one(
            {"_id": _oid(order_id), "status": {"$in": list(allowed_from)}}, {"$set": changes}
        )
        return bool(moved.modified_count)

    async def set_tracking(
        self, order_id: str | ObjectId, carrier: str | None, tracking_number: str | None
    ) -> None:
        """Sets what is given of the parcel's tracking on a shipped (or delivered) order."""
        changes = {"carrier": carrier, "tracking_number": tracking_number}
        await self.collection.update_one(
            {
                "_id": _oid(order_id),
                "status": {"$in": [OrderStatus.SHIPPED, OrderStatus.DELIVERED]},
            },
            {"$set": {k: v for k, v in changes.items() if v}},
        )

    # ----------------------------------------------------------------- submission

    async def start_submission(self, order_id: str | ObjectId, provider: str, attempt: int) -> None:
        state = {"provider": provider, "status": SubmissionStatus.PENDING, "attempts": attempt}
        await self.collection.update_one({"_id": _oid(order_id)}, {"$set": {"submission": state}})

    async def mark_submitted(
        self,
        order_id: str | ObjectId,
        provider: str,
        attempt: int,
        location: str,
        http_status: int | None,
        change: int,
    ) -> bool:
        """PENDING → SUBMITTED (change `change`), with the provider's receipt; False when it
        was not PENDING."""
        state: dict[str, Any] = {
            "provider": provider,
            "status": SubmissionStatus.SUBMITTED,
            "attempts": attempt,
            "location": location,
        }
        if http_status is not None:
            state["httpStatus"] = http_status
        state["lastError"] = None
        moved = await self.collection.update_one(
            {"_id": _oid(order_id), "status": OrderStatus.PENDING},
            {
                "$set": {
                    "status": OrderStatus.SUBMITTED,
                    "submitted_ms": now_ms(),
                    "error": None,
                    "submission": state,
                    **_made(change),
                }
            },
        )
        return bool(moved.modified_count)

    async def record_submission_error(
        self, order_id: str | ObjectId, error: str, final: bool
    ) -> None:
        status = SubmissionStatus.FAILED if final else SubmissionStatus.RETRYING
        await self.collection.update_one(
            {"_id": _oid(order_id), "status": OrderStatus.PENDING},
            {"$set": {"submission.status": status, "error": error[:500]}},
        )

    async def fail_pending(self, order_id: str | ObjectId, change: int) -> bool:
        """PENDING → FAILED (change `change`); False when it was not PENDING."""
        failed = await self.collection.update_one(
            {"_id": _oid(order_id), "status": OrderStatus.PENDING},
            {"$set": {"status": OrderStatus.FAILED, **_made(change)}},
        )
        return bool(failed.modified_count)

    # ----------------------------------------------------------------- recovery of a FAILED order

    async def resubmit_failed(
        self, order_id: str | ObjectId, keep_manifest: bool, change: int
    ) -> FulfillmentOrder | None:
        """FAILED (no printer event on it) → PENDING for a fresh round of submission: the
        submission state and error cleared, the manifest kept only when `keep_manifest`.
        Returns the order as it was before, or None when it was not such an order (a
        concurrent call moved it first)."""
        changes: dict[str, Any] = {
            "status": OrderStatus.PENDING,
            "submission": None,
            "error": None,
            "resubmitted_ms": now_ms(),
            **_made(change),
        }
        if not keep_manifest:
            changes |= {"manifest_key": None, "manifest_progress": None}
        before = await self.collection.find_one_and_update(
            {"_id": _oid(order_id), "status": OrderStatus.FAILED, "cards_moved": False},
            {"$set": changes, "$inc": {"resubmits": 1}},
            return_document=ReturnDocument.BEFORE,
        )
        return None if before is None else FulfillmentOrder.model_validate(before)

    async def cancel_failed(self, order_id: str | ObjectId, change: int) -> bool:
        """FAILED → CANCELLED (change `change`); False when it was not FAILED. From now on
        its cards are counted (`cards_moved`): they leave it."""
        cancelled = await self.collection.update_one(
            {"_id": _oid(order_id), "status": OrderStatus.FAILED},
            {
                "$set": {
                    "status": OrderStatus.CANCELLED,
                    "cards_moved": True,
                    "cancelled_ms": now_ms(),
                    **_made(change),
                }
            },
        )
        return bool(cancelled.modified_count)

    # ----------------------------------------------------------------- the manifest

    async def set_manifest_key(self, order_id: str | ObjectId, key: str) -> None:
        await self.collection.update_one({"_id": _oid(order_id)}, {"$set": {"manifest_key": key}})

    async def advance_manifest(
        self,
        order_id: str | ObjectId,
        before: ManifestProgress | None,
        after: ManifestProgress,
    ) -> bool:
        """Records `after` if the progress is still `before` (same upload, same rows); False
        when another job recorded a part first."""
        expected: dict[str, Any]
        if before:
            expected = {"manifest_progress.upload_id": before.upload_id}
            expected["manifest_progress.rows"] = before.rows
        else:
            expected = {"manifest_progress": None}
        moved = await self.collection.update_one(
            {"_id": _oid(order_id), **expected}, {"$set": {"manifest_progress": after.model_dump()}}
        )
        return bool(moved.modified_count)

    async def drop_manifest_upload(self, order_id: str | ObjectId, upload_id: str) -> None:
        """Forgets a multipart upload that is gone (expired): the manifest starts over."""
        await self.collection.update_one(
            {"_id": _oid(order_id), "manifest_progress.upload_id": upload_id},
            {"$set": {"manifest_progress": None}},
        )

    # ----------------------------------------------------------------- the merchant webhook

    async def mirror_webhook(self, order_id: str, state: WebhookState) -> None:
        """The order's view of its latest webhook delivery (the delivery is in the outbox)."""
        await self.collection.update_one(
            {"_id": ObjectId(order_id)}, {"$set": {"webhook": state.model_dump()}}
        )
