"""What every chain of short jobs stores the same way (a batch, a status change): the owner
job, a heartbeat, a recovery count. The sweeper finds stale chains and takes them over here."""

from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection

from app.lib.types import now_ms


@dataclass(frozen=True)
class StaleTask:
    """A chain of jobs that may have broken (the sweeper's view of it)."""

    id: str
    step: int
    current_job: str | None
    recoveries: int
    error: str | None


async def find_stale(
    collection: AsyncCollection[dict[str, Any]],
    query: dict[str, Any],
    stale_before_ms: int,
    limit: int,
) -> list[StaleTask]:
    """Documents matching `query` whose heartbeat is older than `stale_before_ms`."""
    cursor = collection.find(
        {**query, "heartbeat_ms": {"$lt": stale_before_ms}},
        {"step": 1, "current_job": 1, "recoveries": 1, "error": 1},
    ).limit(limit)
    return [
        StaleTask(
            id=str(doc["_id"]),
            step=doc["step"],
            current_job=doc.get("current_job"),
            recoveries=doc["recoveries"],
            error=doc.get("error"),
        )
        async for doc in cursor
    ]


async def take_over(
    collection: AsyncCollection[dict[str, Any]], task: StaleTask, job_id: str
) -> bool:
    """Names `job_id` the owner (one recovery more), unless the chain moved meanwhile."""
    claimed = await collection.update_one(
        {"_id": ObjectId(task.id), "current_job": task.current_job},
        {
            "$set": {
                "current_job": job_id,
                "recoveries": task.recoveries + 1,
                "heartbeat_ms": now_ms(),
            }
        },
    )
    return bool(claimed.modified_count)
