from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection

from app.storage.models import Merchant


class MerchantRepository:
    @property
    def collection(self) -> AsyncCollection[dict[str, Any]]:
        return Merchant.get_pymongo_collection()

    async def insert(self, merchant: Merchant) -> None:
        """Raises DuplicateKeyError when another merchant holds the same API key."""
        await merchant.insert()

    async def get(self, merchant_id: str) -> Merchant | None:
        return await Merchant.get(ObjectId(merchant_id))

    async def by_api_key_hash(self, key_hash: str) -> Merchant | None:
        return await Merchant.find_one({"api_key_hash": key_hash})

    async def set_rate_limit(self, merchant_id: str, limit: str | None) -> bool:
        """False when there is no such merchant."""
        result = await self.collection.update_one(
            {"_id": ObjectId(merchant_id)}, {"$set": {"rate_limit": limit}}
        )
        return result.matched_count == 1

    async def rate_limit(self, merchant_id: str) -> str | None:
        found = await self.collection.find_one({"_id": ObjectId(merchant_id)}, {"rate_limit": 1})
        return found.get("rate_limit") if found else None

    async def set_webhook_secret_if_missing(self, merchant_id: str, encrypted: bytes) -> None:
        await self.collection.update_one(
            {"_id": ObjectId(merchant_id), "webhook_secret_enc": None},
            {"$set": {"webhook_secret_enc": encrypted}},
        )

    async def rotate_webhook_secret(
        self, merchant_id: str, rotations: int, new: bytes, previous: bytes, expires_at: datetime
    ) -> bool:
        """Makes `new` the secret and `previous` (the current one) the grace-period one, unless
        another rotation happened since the merchant was read (`rotations`): then False."""
        merchant = ObjectId(merchant_id)
        await self.collection.update_one(  # merchants from before rotations existed
            {"_id": merchant, "secret_rotations": {"$exists": False}},
            {"$set": {"secret_rotations": 0}},
        )
        result = await self.collection.update_one(
            {"_id": merchant, "secret_rotations": rotations},
            {
                "$set": {
                    "webhook_secret_enc": new,
                    "previous_webhook_secret_enc": previous,
                    "previous_secret_expires_at": expires_at,
                },
                "$inc": {"secret_rotations": 1},
            },
        )
        return result.modified_count == 1
