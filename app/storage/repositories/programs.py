from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from app.storage.models import Program
from app.storage.repositories.paging import newest_first_page


class ProgramRepository:
    @property
    def collection(self) -> AsyncCollection[dict[str, Any]]:
        return Program.get_pymongo_collection()

    async def insert(self, program: Program) -> None:
        await program.insert()

    async def get(self, program_id: str) -> Program | None:
        return await Program.get(ObjectId(program_id))

    async def of_merchant(self, merchant_id: str, program_id: str) -> Program | None:
        return await Program.find_one({"_id": ObjectId(program_id), "merchant_id": merchant_id})

    async def update(
        self, merchant_id: str, program_id: str, changes: dict[str, Any]
    ) -> Program | None:
        """Sets the given fields (by name) of the merchant's program; the program as it is now."""
        after = await self.collection.find_one_and_update(
            {"_id": ObjectId(program_id), "merchant_id": merchant_id},
            {"$set": changes},
            return_document=ReturnDocument.AFTER,
        )
        return None if after is None else Program.model_validate(after)

    async def named(self, merchant_id: str, name: str) -> Program | None:
        return await Program.find_one({"merchant_id": merchant_id, "name": name})

    async def page(
        self, merchant_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Program], str | None]:
        return await newest_first_page(Program, {"merchant_id": merchant_id}, limit, cursor)

    async def callback_urls(self, program_ids: list[str]) -> dict[str, str]:
        """program id → callbackUrl, for the programs that have one."""
        found = Program.find({"_id": {"$in": [ObjectId(p) for p in program_ids]}})
        return {str(p.id): p.callback_url async for p in found if p.callback_url}
