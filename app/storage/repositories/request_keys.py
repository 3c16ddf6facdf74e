from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from app.storage.models import RequestKey


class RequestKeyRepository:
    @property
    def collection(self) -> AsyncCollection[dict[str, Any]]:
        return RequestKey.get_pymongo_collection()

    async def insert_if_new(self, record: RequestKey) -> bool:
        try:
            await record.insert()
        except DuplicateKeyError:
            return False
        return True

    async def get(self, key_id: str) -> RequestKey | None:
        return await RequestKey.get(key_id)

    async def replace(self, record: RequestKey) -> None:
        await self.collection.replace_one(
            {"_id": record.id}, record.model_dump(by_alias=True), upsert=True
        )

    async def release(self, key_id: str, issuance_id: str) -> None:
        await self.collection.delete_one({"_id": key_id, "issuance_id": issuance_id})
