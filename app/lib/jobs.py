"""Names and ids of the arq jobs, shared by the API (which enqueues) and the workers.

Job ids make enqueueing idempotent: arq refuses a second job with an id that is queued,
running, or still has a kept result.
"""

from typing import Any

from arq.connections import ArqRedis

ADVANCE_ISSUANCE = "advance_issuance"
SEND_NOTIFICATION = "send_notification"
DELIVER_CALLBACK = "deliver_callback"
SUBMIT_ORDER = "submit_fulfillment_order"
DELIVER_FULFILLMENT_WEBHOOK = "deliver_fulfillment_webhook"


def advance_job_id(issuance_id: str, step: int, recovery: int = 0) -> str:
    base = f"adv:{issuance_id}:{step}"
    return f"{base}:r{recovery}" if recovery else base


async def enqueue_advance(redis: ArqRedis, issuance_id: str, job_id: str) -> None:
    await redis.enqueue_job(ADVANCE_ISSUANCE, issuance_id, _job_id=job_id)


async def enqueue_notifications(redis: ArqRedis, card_ids: list[str]) -> None:
    for card_id in card_ids:
        await redis.enqueue_job(SEND_NOTIFICATION, card_id, _job_id=f"notify:{card_id}")


async def enqueue_callback_if_wanted(
    redis: ArqRedis, issuance_id: str, callback_url: str | None
) -> None:
    if callback_url:
        await redis.enqueue_job(DELIVER_CALLBACK, issuance_id, _job_id=f"callback:{issuance_id}")


async def enqueue_submit_order(
    redis: ArqRedis, order_id: str, recovery: int = 0, after_part: int = 0
) -> None:
    """Writes the order's manifest and hands it to the printer (once per order); a big
    manifest's next job goes on after part `after_part`."""
    job_id = f"fulfill:{order_id}" + (f":p{after_part}" if after_part else "")
    job_id += f":r{recovery}" if recovery else ""
    await redis.enqueue_job(SUBMIT_ORDER, order_id, _job_id=job_id)


async def enqueue_fulfillment_webhook(
    redis: ArqRedis, order_id: str, event_type: str, program_id: str, change: dict[str, Any]
) -> None:
    """One merchant webhook delivery of one change of a fulfillment order."""
    job_id = f"fwh:{order_id}:{change['number']}:{event_type}:{program_id}"
    await redis.enqueue_job(
        DELIVER_FULFILLMENT_WEBHOOK, order_id, event_type, program_id, change, _job_id=job_id
    )
