"""The Redis connection shared by the arq queue and the idempotency records."""

from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool

from app.lib.settings import Settings


def redis_client(settings: Settings) -> ArqRedis:
    """An arq-capable Redis client that connects lazily, so the API starts while Redis is down."""
    pool = ConnectionPool.from_url(
        settings.redis_url,
        socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=settings.redis_timeout_seconds,
    )
    return ArqRedis(connection_pool=pool, default_queue_name=settings.queue_name)
