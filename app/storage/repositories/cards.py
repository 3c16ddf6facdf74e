"""The cards: every query of the `cards` collection.

Bulk paths write cards as plain documents (`document`), built from the model's own field
names: validating a model per card would cost more than everything else a card needs. Queries
by batch go through the unique `(program_id, bulk_issuance_id, seq)` index; the fulfillment
queries are in `card_fulfillment.py`.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from app.lib.types import utcnow
from app.storage.models import (
    BulkIssuance,
    Card,
    CardNotification,
    CardView,
    Recipient,
)
from app.storage.repositories.card_fulfillment import CardFulfillmentQueries
from app.storage.repositories.filters import of_batch
from app.storage.repositories.paging import id_filter, next_cursor
from app.storage.states import (
    OPEN_NOTIFICATION,
    RESENDABLE_NOTIFICATION,
    CardFulfillmentStatus,
    CardStatus,
    NotificationChannel,
    NotificationStatus,
)

_PUBLIC = {"number_enc": 0, "number_hash": 0}  # never read the secret fields for display


@dataclass(frozen=True)
class EncryptedCard:
    """What an export or a replay needs of a stored card: its id, seq and sealed number."""

    id: str
    seq: int
    number_enc: bytes
    recipient: Recipient | None


class CardRepository(CardFulfillmentQueries):
    @property
    def collection(self) -> AsyncCollection[dict[str, Any]]:
        return Card.get_pymongo_collection()

    # ----------------------------------------------------------------- building documents

    @staticmethod
    def shared_fields(issuance: BulkIssuance) -> dict[str, Any]:
        """The fields every card of `issuance` has in common."""
        return {
            "merchant_id": issuance.merchant_id,
            "program_id": issuance.program_id,
            "bulk_issuance_id": str(issuance.id),
            "initial_value": issuance.initial_value,
            "balance": issuance.initial_value,
            "currency": issuance.currency,
            "status": issuance.card_status,  # a deactivated batch resumed: its new cards too
            "is_physical": issuance.is_physical,
            "design_template": issuance.design_template,
            "expires_at": issuance.expires_at,
            "shipping_config_id": issuance.shipping_config_id,
        } | ({"activates_at": issuance.activates_at} if issuance.activates_at else {})

    @staticmethod
    def template(shared: dict[str, Any]) -> dict[str, Any]:
        """A card as stored, its own fields still empty: each card is a copy of it with them
        set (`_id`, `seq`, `number_hash`, `number_enc`, `last_four`, `created_at` always; the
        others when the card has them). A copy and a few sets cost half of building the dict
        anew for every card, and keep the fields in one order."""
        return {
            "_id": None,
            **shared,
            "seq": None,
            "number_hash": None,
            "number_enc": None,
            "last_four": None,
            "recipient": None,
            "notification": None,
            "personalization": None,
            "fulfillment": None,
            "created_at": None,  # the time its build batch started
        }

    @staticmethod
    def new_notification(channels: list[NotificationChannel], now_ms: int) -> dict[str, Any]:
        """A pending notification on `channels` (not empty), due at once (the span counts
        from `now_ms`)."""
        note = CardNotification(
            channel=channels[0],
            channels=channels,
            status=NotificationStatus.PENDING,
            next_attempt_ms=now_ms,
            round_started_ms=now_ms,
        )
        return note.model_dump()

    @staticmethod
    def new_fulfillment(updated_ms: int) -> dict[str, Any]:
        return {
            "status": CardFulfillmentStatus.CREATED,
            "order_id": None,
            "carrier": None,
            "tracking_number": None,
            "updated_ms": updated_ms,
        }

    # ----------------------------------------------------------------- writing a batch

    async def insert_new(self, documents: list[dict[str, Any]]) -> set[int]:
        """Inserts what it can; returns the indexes of the documents refused (a seq that
        exists already, or a number that collides)."""
        try:
            await self.collection.insert_many(documents, ordered=False)
        except BulkWriteError as exc:
            return {error["index"] for error in exc.details["writeErrors"]}
        return set()

    async def existing_seqs(self, program_id: str, issuance_id: str, seqs: list[int]) -> set[int]:
        """Which of `seqs` exist: a range read of the index from the least to the greatest
        (a `$in` on seq is a `json_each` per card of the batch on nx-27017)."""
        if not seqs:
            return set()
        found = await self.seqs_between(program_id, issuance_id, min(seqs), max(seqs) + 1)
        return set(found).intersection(seqs)

    async def seqs_between(
        self, program_id: str, issuance_id: str, start: int, end: int
    ) -> list[int]:
        """The seqs in [start, end) that exist, ascending, read from the batch's unique index."""
        query = of_batch(program_id, issuance_id) | {"seq": {"$gte": start, "$lt": end}}
        cursor = self.collection.find(query, {"seq": 1}).sort("seq", 1)
        return [doc["seq"] async for doc in cursor]

    async def delete_batch(self, program_id: str, issuance_id: str) -> None:
        await self.collection.delete_many(of_batch(program_id, issuance_id))

    async def encrypted(
        self, program_id: str, issuance_id: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[EncryptedCard]:
        """The batch's cards with seq in [start, end), in seq order (the unique index's)."""
        seqs: dict[str, int] = {"$gte": start} if end is None else {"$gte": start, "$lt": end}
        cursor = (
            self.collection.find(
                of_batch(program_id, issuance_id) | {"seq": seqs},
                {"_id": 1, "seq": 1, "number_enc": 1, "recipient": 1},
            )
            .sort("seq", 1)
            .batch_size(10_000)  # each round trip waits its turn on a busy database
        )
        async for doc in cursor:
            recipient = doc.get("recipient")
            yield EncryptedCard(
                id=str(doc["_id"]),
                seq=doc["seq"],
                number_enc=doc["number_enc"],
                recipient=Recipient.model_validate(recipient) if recipient else None,
            )

    async def activate_scheduled(self, program_id: str, issuance_id: str) -> int:
        """The batch's cards still `scheduled` become `active`: one range update through the
        batch's index (a card deactivated meanwhile is left as it is)."""
        updated = await self.collection.update_many(
            of_batch(program_id, issuance_id, status=CardStatus.SCHEDULED),
            {"$set": {"status": CardStatus.ACTIVE}},
        )
        return updated.modified_count

    async def set_status(
        self, program_id: str, issuance_id: str, seqs: tuple[int, int], status: CardStatus
    ) -> int:
        """Sets the status of the batch's cards with seq in [start, end), through the batch's
        index (a bounded range: big updates are slow); returns how many cards it matched."""
        updated = await self.collection.update_many(
            of_batch(program_id, issuance_id) | {"seq": {"$gte": seqs[0], "$lt": seqs[1]}},
            {"$set": {"status": status}},
        )
        return updated.matched_count

    # ----------------------------------------------------------------- display

    async def view(self, merchant_id: str, program_id: str, card_id: str) -> CardView | None:
        doc = await self.collection.find_one(
            {"_id": ObjectId(card_id), "merchant_id": merchant_id, "program_id": program_id},
            _PUBLIC,
        )
        return None if doc is None else CardView.model_validate(doc)

    async def page_views(
        self,
        merchant_id: str,
        program_id: str,
        bulk_issuance_id: str | None,
        fulfillment_status: CardFulfillmentStatus | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[CardView], str | None]:
        query: dict[str, Any] = {"merchant_id": merchant_id, "program_id": program_id}
        if bulk_issuance_id:
            query["bulk_issuance_id"] = bulk_issuance_id
        if fulfillment_status:
            query["fulfillment.status"] = fulfillment_status
        query.update(id_filter(cursor, newest_first=False))
        found = self.collection.find(query, _PUBLIC).sort("_id", 1).limit(limit + 1)
        docs = [doc async for doc in found]
        return [CardView.model_validate(d) for d in docs[:limit]], next_cursor(docs, limit)

    # ----------------------------------------------------------------- notifications

    async def get(self, card_id: str) -> Card | None:
        return await Card.get(ObjectId(card_id))

    async def open_notifications(
        self,
        program_id: str,
        issuance_id: str,
        seqs: tuple[int, int] | None = None,
        limit: int = 0,
    ) -> list[str]:
        """Ids of the batch's cards whose notification is still to be sent."""
        query = of_batch(program_id, issuance_id)
        query["notification.status"] = {"$in": list(OPEN_NOTIFICATION)}
        if seqs is not None:
            query["seq"] = {"$gte": seqs[0], "$lt": seqs[1]}
        cursor = self.collection.find(query, {"_id": 1}).limit(limit)
        return [str(doc["_id"]) async for doc in cursor]

    async def due_notifications(
        self, program_id: str, issuance_id: str, now_ms: int, limit: int
    ) -> list[str]:
        """Ids of the batch's cards whose next try is due (a try that died mid-way included)."""
        query = of_batch(program_id, issuance_id)
        query["notification.status"] = {"$in": list(OPEN_NOTIFICATION)}
        query["notification.nextAttemptMs"] = {"$lte": now_ms}
        cursor = self.collection.find(query, {"_id": 1}).limit(limit)
        return [str(doc["_id"]) async for doc in cursor]

    async def claim_notification(self, card_id: str, now_ms: int, lease_until: int) -> Card | None:
        """Takes a due notification for one try: `sending`, one attempt more, due again at
        `lease_until` (when a try that died mid-way counts as dead). Returns the card as it was
        before; None when nothing was due (sent, scheduled later, or another try has it)."""
        before = await self.collection.find_one_and_update(
            {
                "_id": ObjectId(card_id),
                "notification.status": {"$in": list(OPEN_NOTIFICATION)},
                "notification.nextAttemptMs": {"$lte": now_ms},
            },
            {
                "$set": {
                    "notification.status": NotificationStatus.SENDING,
                    "notification.nextAttemptMs": lease_until,
                },
                "$inc": {"notification.attempts": 1},
            },
            return_document=ReturnDocument.BEFORE,
        )
        return None if before is None else Card.model_validate(before)

    async def notification_sent(self, card_id: str) -> None:
        await self.collection.update_one(
            {"_id": ObjectId(card_id)},
            {
                "$set": {
                    "notification.status": NotificationStatus.SENT,
                    "notification.sentAt": utcnow(),
                    "notification.lastError": None,
                    "notification.nextAttemptMs": None,
                }
            },
        )

    async def notification_channel_sent(
        self, card_id: str, lease_until: int, sent: list[NotificationChannel]
    ) -> None:
        """Records the channels the try holding the lease `lease_until` has sent so far."""
        await self.collection.update_one(
            {
                "_id": ObjectId(card_id),
                "notification.status": NotificationStatus.SENDING,
                "notification.nextAttemptMs": lease_until,
            },
            {"$set": {"notification.sentChannels": list(sent)}},
        )

    async def notification_failed(
        self, card_id: str, lease_until: int, error: str, next_attempt_ms: int | None
    ) -> None:
        """Records the failed try that holds the lease `lease_until`: pending again, due at
        `next_attempt_ms`, or `failed` when there is none."""
        status = (
            NotificationStatus.FAILED if next_attempt_ms is None else NotificationStatus.PENDING
        )
        await self.collection.update_one(
            {
                "_id": ObjectId(card_id),
                "notification.status": NotificationStatus.SENDING,
                "notification.nextAttemptMs": lease_until,
            },
            {
                "$set": {
                    "notification.lastError": error[:500],
                    "notification.status": status,
                    "notification.nextAttemptMs": next_attempt_ms,
                }
            },
        )

    async def resend_notification(
        self, merchant_id: str, program_id: str, card_id: str, now_ms: int
    ) -> CardView | None:
        """Makes the card's notification pending and due now, a new round of tries (sent ones
        too: the recipient lost it). None when the card is not the merchant's, has no
        notification, or a try is under way."""
        after = await self.collection.find_one_and_update(
            {
                "_id": ObjectId(card_id),
                "merchant_id": merchant_id,
                "program_id": program_id,
                "notification.status": {"$in": list(RESENDABLE_NOTIFICATION)},
            },
            {"$set": _new_round(now_ms)},
            projection=_PUBLIC,
            return_document=ReturnDocument.AFTER,
        )
        return None if after is None else CardView.model_validate(after)

    async def resend_failed(self, program_id: str, issuance_id: str, now_ms: int) -> int:
        """Every `failed` notification of the batch pending again and due now; how many."""
        moved = await self.collection.update_many(
            of_batch(program_id, issuance_id) | {"notification.status": NotificationStatus.FAILED},
            {"$set": _new_round(now_ms)},
        )
        return moved.modified_count


def _new_round(now_ms: int) -> dict[str, Any]:
    """A notification's fresh round of tries: attempts and the span count from now."""
    return {
        "notification.status": NotificationStatus.PENDING,
        "notification.attempts": 0,
        "notification.nextAttemptMs": now_ms,
        "notification.roundStartedMs": now_ms,
        "notification.sentChannels": [],
    }
