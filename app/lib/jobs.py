"""Names and ids of the arq jobs, shared by the API (which enqueues) and the workers.

Job ids make enqueueing idempotent: arq refuses a second job with an id that is queued,
running, or still has a kept result.
"""

from arq.connections import ArqRedis

ISSUE_CHUNK = "issue_chunk"
FINISH_ISSUANCE = "finish_issuance"
SEND_NOTIFICATION = "send_notification"


async def enqueue_chunk(redis: ArqRedis, issuance_id: str, start: int) -> None:
    await redis.enqueue_job(ISSUE_CHUNK, issuance_id, start, _job_id=f"issue:{issuance_id}:{start}")


async def enqueue_finish(redis: ArqRedis, issuance_id: str) -> None:
    await redis.enqueue_job(FINISH_ISSUANCE, issuance_id, _job_id=f"finish:{issuance_id}")


async def enqueue_notifications(redis: ArqRedis, card_ids: list[str]) -> None:
    for card_id in card_ids:
        await redis.enqueue_job(SEND_NOTIFICATION, card_id, _job_id=f"notify:{card_id}")
