"""The cards collection's fulfillment queries (part of CardRepository): claiming a
configuration's waiting cards into an order, moving them as the printer reports, reading an
order's cards by seq range for its manifest, releasing a cancelled order's cards.

A query of a seq range names its batch (`of_batch`: the cards' unique index); every other
query of an order's cards names its `shipping_config_id` (indexed: digital cards have none),
so it reads the configuration's cards, never the whole collection.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection

from app.lib.types import now_ms
from app.storage.repositories.filters import of_batch
from app.storage.states import CardFulfillmentStatus

# one box's cards: [program, bulk issuance, first seq, end seq) (FulfillmentOrder.box_range)
BoxRange = list[str | int]


def _of_order(config_id: str, order_id: str, box_range: BoxRange | None) -> dict[str, Any]:
    """The order's cards: those of one box's seq range through the batch's index when the
    box is known, else through the configuration's index (all its cards read)."""
    if box_range is None:
        return {"shipping_config_id": config_id, "fulfillment.order_id": order_id}
    program_id, issuance_id, first, end = box_range
    query = of_batch(str(program_id), str(issuance_id), **{"fulfillment.order_id": order_id})
    return query | {"seq": {"$gte": first, "$lt": end}}


@dataclass(frozen=True)
class ClaimedGroup:
    """An order's cards of one bulk issuance: how many, and their first and last seq."""

    issuance: str
    count: int
    first: int
    last: int


class ManifestCard(NamedTuple):
    """A card as its manifest row prints it: read as a plain document, no model per card (a
    tuple: the cheapest record to build, 100,000 times for a big order)."""

    id: str
    number_enc: bytes
    name_line1: str | None
    name_line2: str | None
    carrier_message: str | None
    card_image: str | None
    thermal_color: str | None
    design_template: str | None
    expires_at: datetime
    name_line3: str | None = None
    custom_text: dict[str, str] | None = None
    carrier_image: str | None = None
    carrier_return_window_image: str | None = None
    shipping: dict[str, Any] | None = None  # its own parcel (camelCase, as stored)
    box: int | None = None


class CardFulfillmentQueries:
    @property
    def collection(self) -> AsyncCollection[dict[str, Any]]:
        raise NotImplementedError

    async def _by_issuance(self, match: dict[str, Any]) -> list[ClaimedGroup]:
        """The cards of `match` by bulk issuance, in issuance order (nx-27017 groups on one
        field only: the caller finds the programs from the issuances)."""
        pipeline: list[dict[str, Any]] = [
            {"$match": match},
            {
                "$group": {
                    "_id": "$bulk_issuance_id",
                    "count": {"$sum": 1},
                    "first": {"$min": "$seq"},
                    "last": {"$max": "$seq"},
                }
            },
        ]
        groups = [doc async for doc in await self.collection.aggregate(pipeline)]
        return [
            ClaimedGroup(g["_id"], g["count"], g["first"], g["last"])
            for g in sorted(groups, key=lambda g: str(g["_id"]))
        ]

    async def claim_box(
        self, bound_ms: int, order_id: str, seqs: tuple[str, str, int, int], box: int
    ) -> int:
        """Moves the waiting cards of `seqs` (program, bulk issuance, seq range [first, end))
        to ORDERED in order `order_id` (its change 1), packed in box `box`; returns how many.
        Waiting: CREATED in no order since `bound_ms` or before (a card issued during the cut
        waits for the next order). A range read of the cards' unique index; each document's
        update is atomic and repeats the waiting condition, so two concurrent cuts never
        claim the same card. The query names the batch, not the configuration (every card of
        a batch has the batch's): with it, nx-27017 read each box through the configuration's
        index, all its cards, and a 100,000-card order took 197 s to cut after a million
        other cards."""
        program_id, issuance_id, first, end = seqs
        query = of_batch(program_id, issuance_id) | {
            "seq": {"$gte": first, "$lt": end},
            "fulfillment.status": CardFulfillmentStatus.CREATED,
            "fulfillment.order_id": None,
            "fulfillment.updated_ms": {"$lte": bound_ms},
        }
        claim = {
            "fulfillment.order_id": order_id,
            "fulfillment.status": CardFulfillmentStatus.ORDERED,
            "fulfillment.box": box,
            "fulfillment.updated_ms": now_ms(),
            "fulfillment.moves.ORDERED": 1,
        }
        return (await self.collection.update_many(query, {"$set": claim})).modified_count

    async def _count(self, match: dict[str, Any]) -> int:
        """`$count`: a count of rows on nx-27017, no document built."""
        pipeline: list[dict[str, Any]] = [{"$match": match}, {"$count": "n"}]
        return sum([doc["n"] async for doc in await self.collection.aggregate(pipeline)])

    async def claimed_in_range(self, order_id: str, seqs: tuple[str, str, int, int]) -> int:
        """How many of `seqs` (program, bulk issuance, seq range) the order holds: a range
        read of at most a box's seqs."""
        return await self._count(_of_order("", order_id, list(seqs)))

    async def count_in_box(
        self, config_id: str, order_id: str, box: int, box_range: BoxRange | None = None
    ) -> int:
        return await self._count(
            _of_order(config_id, order_id, box_range) | {"fulfillment.box": box}
        )

    async def claimed_groups(self, config_id: str, order_id: str) -> list[ClaimedGroup]:
        """The order's cards by bulk issuance, in issuance order."""
        return await self._by_issuance(
            {"shipping_config_id": config_id, "fulfillment.order_id": order_id}
        )

    async def count_by_status(self, config_id: str, order_id: str) -> dict[str, int]:
        """The order's cards per fulfillment status (a scan of the order's cards)."""
        pipeline: list[dict[str, Any]] = [
            {"$match": {"shipping_config_id": config_id, "fulfillment.order_id": order_id}},
            {"$group": {"_id": "$fulfillment.status", "n": {"$sum": 1}}},
        ]
        cursor = await self.collection.aggregate(pipeline)
        return {doc["_id"]: doc["n"] async for doc in cursor}

    async def move_in_order(
        self,
        config_id: str,
        order_id: str,
        allowed_from: Iterable[CardFulfillmentStatus],
        to: CardFulfillmentStatus,
        change: int,
        card_ids: set[str] | None = None,
        carrier: str | None = None,
        tracking_number: str | None = None,
        box: int | None = None,
        box_range: BoxRange | None = None,
    ) -> int:
        """Moves the order's cards (or those of `card_ids`, or of box `box`, whose seqs are
        `box_range` when known) that are in `allowed_from` to `to`, recording the change's
        number (`fulfillment.moves.<to>`); returns how many moved."""
        query = _of_order(config_id, order_id, box_range if box is not None else None)
        query["fulfillment.status"] = {"$in": list(allowed_from)}
        if card_ids:
            query["_id"] = {"$in": [ObjectId(c) for c in card_ids]}
        if box is not None:
            query["fulfillment.box"] = box
        changes: dict[str, Any] = {
            "fulfillment.status": to,
            "fulfillment.updated_ms": now_ms(),
            f"fulfillment.moves.{to}": change,
        }
        if carrier:
            changes["fulfillment.carrier"] = carrier
        if tracking_number:
            changes["fulfillment.tracking_number"] = tracking_number
        moved = await self.collection.update_many(query, {"$set": changes})
        return moved.modified_count

    async def release_ordered(self, config_id: str, order_id: str, change: int) -> int:
        """Moves the order's ORDERED cards back to CREATED and out of the order (it was
        cancelled), so the next cut takes them; `fulfillment.released.<order_id>` records the
        change's number for its webhook. Returns how many moved."""
        released = await self.collection.update_many(
            {
                "shipping_config_id": config_id,
                "fulfillment.order_id": order_id,
                "fulfillment.status": CardFulfillmentStatus.ORDERED,
            },
            {
                "$set": {
                    "fulfillment.status": CardFulfillmentStatus.CREATED,
                    "fulfillment.order_id": None,
                    "fulfillment.updated_ms": now_ms(),
                    "fulfillment.moves": {},
                    f"fulfillment.released.{order_id}": change,
                }
            },
        )
        return released.modified_count

    async def moved_in_change(
        self,
        config_id: str,
        order_id: str,
        program_id: str,
        status: CardFulfillmentStatus,
        change: int,
        box_range: BoxRange | None = None,
    ) -> list[str]:
        """Ids of exactly the program's cards that change `change` moved to `status` (they
        carry its number), whatever happened to them since; in id order. Cards a cancel put
        back to CREATED have left the order: they carry the number under `released`. A box's
        change (`box_range`) moved cards of that range only."""
        query: dict[str, Any] = {"shipping_config_id": config_id, "program_id": program_id}
        if status == CardFulfillmentStatus.CREATED:
            query[f"fulfillment.released.{order_id}"] = change
        elif box_range is not None:
            if box_range[0] != program_id:
                return []
            query = _of_order(config_id, order_id, box_range)
            query[f"fulfillment.moves.{status}"] = change
        else:
            query["fulfillment.order_id"] = order_id
            query[f"fulfillment.moves.{status}"] = change
        found = self.collection.find(query, {"_id": 1}).sort("_id", 1)
        return [str(doc["_id"]) async for doc in found]

    async def moved_by_issuance(
        self,
        config_id: str,
        order_id: str,
        status: CardFulfillmentStatus,
        change: int,
        had: CardFulfillmentStatus | None = None,
        box_range: BoxRange | None = None,
    ) -> dict[str, int]:
        """bulk issuance id → how many of the order's cards change `change` moved to `status`
        (they carry its number; CREATED: a cancel released them), of those that had reached
        `had` before (when given). A scan of the order's cards (of one box's range, for a
        box's change), once per change."""
        query: dict[str, Any] = {"shipping_config_id": config_id}
        if status == CardFulfillmentStatus.CREATED:
            query[f"fulfillment.released.{order_id}"] = change
        else:
            query = _of_order(config_id, order_id, box_range)
            query[f"fulfillment.moves.{status}"] = change
        if had is not None:
            query[f"fulfillment.moves.{had}"] = {"$exists": True}
        pipeline: list[dict[str, Any]] = [
            {"$match": query},
            {"$group": {"_id": "$bulk_issuance_id", "n": {"$sum": 1}}},
        ]
        cursor = await self.collection.aggregate(pipeline)
        return {doc["_id"]: doc["n"] async for doc in cursor}

    async def manifest_cards(
        self, program_id: str, issuance_id: str, order_id: str, first_seq: int, count: int
    ) -> list[ManifestCard]:
        """The order's cards of one bulk issuance with seq in [first_seq, first_seq + count),
        in seq order: a range read of the cards' unique `(program_id, bulk_issuance_id, seq)`
        index, whose cost does not grow with the position (an `_id > x` query does on
        nx-27017). Whole documents: nx-27017 serves a projection of the row's seven fields
        ~30 % slower than the document (a JSON extraction per field), and the manifest's read
        is most of its time; the row takes what it prints."""
        query = of_batch(program_id, issuance_id, **{"fulfillment.order_id": order_id})
        query["seq"] = {"$gte": first_seq, "$lt": first_seq + count}
        found = self.collection.find(query).sort("seq", 1).batch_size(count)  # one reply
        return [manifest_card(doc) async for doc in found]


def manifest_card(doc: dict[str, Any]) -> ManifestCard:
    looks = doc.get("personalization") or {}
    return ManifestCard(  # positional: the fields' order
        str(doc["_id"]),
        doc["number_enc"],
        looks.get("nameLine1"),
        looks.get("nameLine2"),
        looks.get("carrierMessage"),
        looks.get("cardImage"),
        looks.get("thermalColor"),
        doc.get("design_template"),
        doc["expires_at"],
        looks.get("nameLine3"),
        looks.get("customText"),
        looks.get("carrierImage"),
        looks.get("carrierReturnWindowImage"),
        shipping=doc.get("shipping"),
        box=(doc.get("fulfillment") or {}).get("box"),
    )
