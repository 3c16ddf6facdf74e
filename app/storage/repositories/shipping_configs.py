from collections.abc import AsyncIterator
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection

from app.storage.models import ShippingConfig
from app.storage.repositories.paging import newest_first_page
from app.storage.states import ShippingPolicy


class ShippingConfigRepository:
    @property
    def collection(self) -> AsyncCollection[dict[str, Any]]:
        return ShippingConfig.get_pymongo_collection()

    async def insert(self, config: ShippingConfig) -> None:
        await config.insert()

    async def get(self, config_id: str) -> ShippingConfig | None:
        return await ShippingConfig.get(ObjectId(config_id))

    async def of_merchant(self, merchant_id: str, config_id: str) -> ShippingConfig | None:
        """Another merchant's configuration is indistinguishable from a missing one."""
        return await ShippingConfig.find_one(
            {"_id": ObjectId(config_id), "merchant_id": merchant_id}
        )

    async def page(
        self, merchant_id: str, limit: int, cursor: str | None
    ) -> tuple[list[ShippingConfig], str | None]:
        return await newest_first_page(ShippingConfig, {"merchant_id": merchant_id}, limit, cursor)

    async def auto_created_before(self, created_before_ms: int) -> AsyncIterator[ShippingConfig]:
        """The AUTO configurations created before `created_before_ms` (their first cut-off is
        the first one after their creation)."""
        found = ShippingConfig.find(
            {"policy": ShippingPolicy.AUTO, "created_ms": {"$lt": created_before_ms}}
        )
        async for config in found:
            yield config
