from typing import Any

from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from app.storage.models import ApiKey

ACTIVE_SLOTS = ("0", "1")  # at most two active keys per merchant


class ApiKeyRepository:
    @property
    def collection(self) -> AsyncCollection[dict[str, Any]]:
        return ApiKey.get_pymongo_collection()

    async def insert(self, key: ApiKey) -> None:
        """Raises DuplicateKeyError when the hash is known or the merchant's slot is taken."""
        await key.insert()

    async def by_hash(self, key_hash: str) -> ApiKey | None:
        return await ApiKey.find_one({"key_hash": key_hash})

    async def of_merchant(self, merchant_id: str, key_id: str) -> ApiKey | None:
        return await ApiKey.find_one({"_id": ObjectId(key_id), "merchant_id": merchant_id})

    async def active(self, merchant_id: str) -> list[ApiKey]:
        """The merchant's active keys, oldest first."""
        query = {"merchant_id": merchant_id, "slot": {"$in": list(ACTIVE_SLOTS)}}
        return await ApiKey.find(query).sort("+created_at", "+_id").to_list()

    async def touch(self, key_id: str, at_ms: int) -> None:
        await self.collection.update_one(
            {"_id": ObjectId(key_id)}, {"$set": {"last_used_ms": at_ms}}
        )

    async def revoke(self, key_id: str, at_ms: int) -> bool:
        """Frees the key's slot; False when it was revoked already."""
        result = await self.collection.update_one(
            {"_id": ObjectId(key_id), "slot": {"$in": list(ACTIVE_SLOTS)}},
            {"$set": {"revoked_ms": at_ms, "slot": key_id}},
        )
        return result.modified_count == 1

    async def restore(self, key_id: str, slot: str) -> bool:
        """Undoes `revoke` (back in `slot`); False when a new key took the slot meanwhile."""
        try:
            result = await self.collection.update_one(
                {"_id": ObjectId(key_id), "slot": key_id},
                {"$set": {"revoked_ms": None, "slot": slot}},
            )
        except DuplicateKeyError:
            return False
        return result.modified_count == 1
