from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from app.storage.models import FulfillmentEvent


class FulfillmentEventRepository:
    """The printer's events, unique by `event_id`: storing one is claiming its application."""

    @property
    def collection(self) -> AsyncCollection[dict[str, Any]]:
        return FulfillmentEvent.get_pymongo_collection()

    async def insert_if_new(self, event: FulfillmentEvent) -> bool:
        """False when an event with its `event_id` is stored already (a replay)."""
        try:
            await event.insert()
        except DuplicateKeyError:
            return False
        return True

    async def by_event_id(self, event_id: str) -> FulfillmentEvent | None:
        return await FulfillmentEvent.find_one({"event_id": event_id})

    async def record_result(self, event_id: str, result: dict[str, Any]) -> None:
        """What the first delivery answered: a replay after this is a duplicate."""
        await self.collection.update_one({"event_id": event_id}, {"$set": {"result": result}})
