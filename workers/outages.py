"""Which failures are an outage of a store (retry with backoff) and how to name them."""

import asyncio

from botocore.exceptions import BotoCoreError, ClientError
from pymongo.errors import ConnectionFailure
from redis.exceptions import RedisError


def outage_name(exc: BaseException) -> str | None:
    """'database' / 'queue' / 'object store' when `exc` says that store is unreachable."""
    if isinstance(exc, ConnectionFailure):
        return "database"
    if isinstance(exc, RedisError):
        return "queue"
    if isinstance(exc, BotoCoreError):
        return "object store"
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return "object store" if status >= 500 or status == 0 else None
    return None


def describe(exc: BaseException) -> str:
    """What the task's `error` says: which store was down, or what else went wrong."""
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return "step timed out: a store is slow or unreachable (TimeoutError)"
    name = outage_name(exc)
    what = f"{name} unreachable" if name else "unexpected error"
    return f"{what} ({type(exc).__name__})"


def backoff_seconds(job_try: int, cap: float) -> float:
    return min(cap, 2.0 ** min(job_try, 10))
