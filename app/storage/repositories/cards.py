"""The cards: every query of the `cards` collection.

Bulk paths write cards as plain documents (`document`), built from the model's own field
names: validating a model per card would cost more than everything else a card needs. Queries
by batch go through the unique `(program_id, bulk_issuance_id, seq)` index; the fulfillment
queries are in `card_fulfillment.py`.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId
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
from app.storage.repositories.paging import id_filter, next_cursor
from app.storage.states import (
    OPEN_NOTIFICATION,
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
            "status": CardStatus.ACTIVE,
            "is_physical": issuance.is_physical,
            "design_template": issuance.design_template,
            "expires_at": issuance.expires_at,
            "shipping_config_id": issuance.shipping_config_id,
        }

    @staticmethod
    def document(
        shared: dict[str, Any],
        card_id: ObjectId,
        seq: int,
        number_hash: str,
        number_enc: bytes,
        last_four: str,
        recipient: dict[str, Any] | None,
        notification: dict[str, Any] | None,
        personalization: dict[str, Any] | None,
        fulfillment: dict[str, Any] | None,
    ) -> dict[str, Any]:
        return {
            "_id": card_id,
            **shared,
            "seq": seq,
            "number_hash": number_hash,
            "number_enc": number_enc,
            "last_four": last_four,
            "recipient": recipient,
            "notification": notification,
            "personalization": personalization,
            "fulfillment": fulfillment,
            "created_at": utcnow(),
        }

    @staticmethod
    def new_notification(channel: NotificationChannel) -> dict[str, Any]:
        return CardNotification(channel=channel, status=NotificationStatus.PENDING).model_dump()

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
        cursor = self.collection.find(
            {"program_id": program_id, "bulk_issuance_id": issuance_id, "seq": {"$in": seqs}},
            {"seq": 1},
        )
        return {doc["seq"] async for doc in cursor}

    async def delete_batch(self, program_id: str, issuance_id: str) -> None:
        await self.collection.delete_many(
            {"program_id": program_id, "bulk_issuance_id": issuance_id}
        )

    async def encrypted(
        self, program_id: str, issuance_id: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[EncryptedCard]:
        """The batch's cards with seq in [start, end), in seq order (the unique index's)."""
        seqs: dict[str, int] = {"$gte": start} if end is None else {"$gte": start, "$lt": end}
        cursor = (
            self.collection.find(
                {"program_id": program_id, "bulk_issuance_id": issuance_id, "seq": seqs},
                {"_id": 1, "seq": 1, "number_enc": 1, "recipient": 1},
            )
            .sort("seq", 1)
            .batch_size(2_000)
        )
        async for doc in cursor:
            recipient = doc.get("recipient")
            yield EncryptedCard(
                id=str(doc["_id"]),
                seq=doc["seq"],
                number_enc=doc["number_enc"],
                recipient=Recipient.model_validate(recipient) if recipient else None,
            )

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
        created_before: datetime | None = None,
        limit: int = 0,
    ) -> list[str]:
        """Ids of the batch's cards whose notification is still to be sent."""
        query: dict[str, Any] = {
            "program_id": program_id,
            "bulk_issuance_id": issuance_id,
            "notification.status": {"$in": list(OPEN_NOTIFICATION)},
        }
        if seqs is not None:
            query["seq"] = {"$gte": seqs[0], "$lt": seqs[1]}
        if created_before is not None:
            query["created_at"] = {"$lt": created_before}
        cursor = self.collection.find(query, {"_id": 1}).limit(limit)
        return [str(doc["_id"]) async for doc in cursor]

    async def start_notification(self, card_id: str) -> None:
        """Records the intent before the send: `sending`, one attempt more."""
        await self.collection.update_one(
            {"_id": ObjectId(card_id)},
            {
                "$set": {"notification.status": NotificationStatus.SENDING},
                "$inc": {"notification.attempts": 1},
            },
        )

    async def notification_sent(self, card_id: str) -> None:
        await self.collection.update_one(
            {"_id": ObjectId(card_id)},
            {
                "$set": {
                    "notification.status": NotificationStatus.SENT,
                    "notification.sentAt": utcnow(),
                    "notification.lastError": None,
                }
            },
        )

    async def notification_failed(self, card_id: str, error: str, final: bool) -> None:
        status = NotificationStatus.FAILED if final else NotificationStatus.PENDING
        await self.collection.update_one(
            {"_id": ObjectId(card_id), "notification.status": {"$ne": NotificationStatus.SENT}},
            {"$set": {"notification.lastError": error[:500], "notification.status": status}},
        )
