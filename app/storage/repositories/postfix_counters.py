from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from app.storage.models import PostfixCounter


class PostfixCounterRepository:
    @property
    def collection(self) -> AsyncCollection[dict[str, Any]]:
        return PostfixCounter.get_pymongo_collection()

    async def reserve(self, program_id: str, count: int) -> tuple[int, int]:
        """A block of `count` consecutive postfixes for one batch: [start, end], 1-based. One
        atomic `$inc` per batch, so concurrent batches get disjoint, contiguous blocks."""
        after = await self.collection.find_one_and_update(
            {"_id": program_id},
            {"$inc": {"next": count}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        assert after is not None  # upsert=True always returns the document
        end = int(after["next"])
        return end - count + 1, end

    async def release(self, program_id: str, start: int, end: int) -> None:
        """Gives a block back when its batch was not accepted, if no later block was taken since
        (otherwise the block stays a gap: numbers are never handed out twice)."""
        await self.collection.update_one(
            {"_id": program_id, "next": end}, {"$inc": {"next": -(end - start + 1)}}
        )
