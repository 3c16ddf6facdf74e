"""The connections and repositories one process holds, opened once at start-up by the API and
by each worker, with the process's caches."""

from dataclasses import dataclass, field

from arq.connections import ArqRedis
from beanie import init_beanie
from pymongo import AsyncMongoClient

from app.lib.cache import TtlCache
from app.lib.card_numbers import CardVault
from app.lib.object_store import ObjectStore
from app.lib.queue import redis_client
from app.lib.settings import Settings
from app.storage.models import DOCUMENT_MODELS, BulkIssuance
from app.storage.repositories import Repositories


@dataclass
class Caches:
    """Finished tasks no longer change: each process keeps them briefly (one database read
    less per poll). Running tasks are always read afresh, so their progress never appears to
    go back. Programs are not cached: a PATCH must apply at once in every process."""

    finished_tasks: TtlCache[tuple[str, str], BulkIssuance] = field(
        default_factory=lambda: TtlCache(ttl_seconds=5.0, size=4096)
    )
    # a merchant's own rate limit ("" for the default): a change applies within a minute
    merchant_rate_limits: TtlCache[str, str] = field(
        default_factory=lambda: TtlCache(ttl_seconds=60.0, size=4096)
    )


def mongo_client(settings: Settings) -> AsyncMongoClient:  # type: ignore[type-arg]
    timeout = settings.mongodb_timeout_ms
    return AsyncMongoClient(
        settings.mongodb_url,
        tz_aware=True,
        serverSelectionTimeoutMS=timeout,
        connectTimeoutMS=timeout,
        socketTimeoutMS=max(timeout * 10, 30_000),
    )


async def connect_mongo(settings: Settings) -> AsyncMongoClient:  # type: ignore[type-arg]
    """Connects and registers the models (creating their indexes)."""
    client = mongo_client(settings)
    await init_beanie(database=client[settings.mongodb_db], document_models=DOCUMENT_MODELS)
    return client


@dataclass
class Resources:
    settings: Settings
    mongo: AsyncMongoClient  # type: ignore[type-arg]
    redis: ArqRedis
    store: ObjectStore
    vault: CardVault
    db: Repositories = field(default_factory=Repositories)
    caches: Caches = field(default_factory=Caches)

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
