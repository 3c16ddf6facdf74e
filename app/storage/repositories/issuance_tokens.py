"""Merchants' bulk issuance tokens: every query of the `issuance_tokens` collection."""

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from app.storage.models import IssuanceToken


def token_id(merchant_id: str, token: str) -> str:
    return f"{merchant_id}:{token}"


class IssuanceTokenRepository:
    @property
    def collection(self) -> AsyncCollection[dict[str, Any]]:
        return IssuanceToken.get_pymongo_collection()

    async def insert_if_new(self, record: IssuanceToken) -> bool:
        """False when the merchant's token is taken already (the `_id` is unique)."""
        try:
            await record.insert()
        except DuplicateKeyError:
            return False
        return True

    async def get(self, merchant_id: str, token: str) -> IssuanceToken | None:
        return await IssuanceToken.get(token_id(merchant_id, token))

    async def take_over(self, held: IssuanceToken, record: IssuanceToken) -> bool:
        """Moves the claim from `held` to `record`, only if nobody moved it meanwhile."""
        moved = await self.collection.update_one(
            {"_id": held.id, "issuance_id": held.issuance_id},
            {
                "$set": {
                    "issuance_id": record.issuance_id,
                    "request_key": record.request_key,
                    "claimed_ms": record.claimed_ms,
                }
            },
        )
        return bool(moved.modified_count)

    async def release(self, merchant_id: str, token: str, issuance_id: str) -> None:
        await self.collection.delete_one(
            {"_id": token_id(merchant_id, token), "issuance_id": issuance_id}
        )
