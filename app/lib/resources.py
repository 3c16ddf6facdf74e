"""The connections one process holds, opened once at start-up by the API and by each worker."""

from dataclasses import dataclass

from arq.connections import ArqRedis
from pymongo import AsyncMongoClient

from app.lib.card_numbers import CardVault
from app.lib.db import connect_mongo
from app.lib.object_store import ObjectStore
from app.lib.queue import redis_client
from app.lib.settings import Settings


@dataclass
class Resources:
    settings: Settings
    mongo: AsyncMongoClient
    redis: ArqRedis
    store: ObjectStore
    vault: CardVault

    @classmethod
    async def open(cls, settings: Settings) -> "Resources":
        return cls(
            settings=settings,
            mongo=await connect_mongo(settings),
            redis=redis_client(settings),
            store=ObjectStore(settings),
            vault=CardVault(settings.card_hash_key, settings.card_encryption_key),
        )

    async def close(self) -> None:
        await self.redis.aclose()
        await self.mongo.close()
