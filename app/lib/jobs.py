"""Names and ids of the arq jobs, shared by the API (which enqueues) and the workers.

Job ids make enqueueing idempotent: arq refuses a second job with an id that is queued,
running, or still has a kept result.
"""

import time

from arq.connections import ArqRedis
from arq.jobs import Job, JobStatus

ADVANCE_ISSUANCE = "advance_issuance"
HELP_ISSUANCE = "help_issuance"  # a helper lane of a batch spread over several workers
EXPORT_FAILED_ISSUANCE = "export_failed_issuance"
SEND_NOTIFICATION = "send_notification"
DELIVER_CALLBACK = "deliver_callback"  # older versions' jobs, still run (into the outbox)
SUBMIT_ORDER = "submit_fulfillment_order"
DELIVER_FULFILLMENT_WEBHOOK = "deliver_fulfillment_webhook"  # older versions' jobs, too
DELIVER_WEBHOOK = "deliver_webhook"  # one attempt of an outbox delivery
SWITCH_CARD_STATUS = "switch_card_status"
ACTIVATE_SCHEDULED = "activate_scheduled"
_ALIVE = (JobStatus.queued, JobStatus.deferred, JobStatus.in_progress)


async def job_alive(redis: ArqRedis, queue_name: str, job_id: str | None) -> bool:
    """Whether arq still has the job queued, deferred or running (the sweeper's question)."""
    if not job_id:
        return False
    return await Job(job_id, redis, _queue_name=queue_name).status() in _ALIVE


def advance_job_id(issuance_id: str, step: int, recovery: int = 0) -> str:
    base = f"adv:{issuance_id}:{step}"
    return f"{base}:r{recovery}" if recovery else base


async def enqueue_advance(redis: ArqRedis, issuance_id: str, job_id: str) -> None:
    await redis.enqueue_job(ADVANCE_ISSUANCE, issuance_id, _job_id=job_id)


def helper_job_id(issuance_id: str, lane: str, step: int) -> str:
    """Step `step` of helper lane `lane` (which names its run and recovery)."""
    return f"help:{issuance_id}:{lane}:{step}"


async def enqueue_helper(
    redis: ArqRedis, issuance_id: str, lane: str, step: int, defer_seconds: float = 0
) -> None:
    await redis.enqueue_job(
        HELP_ISSUANCE,
        issuance_id,
        lane,
        step,
        _job_id=helper_job_id(issuance_id, lane, step),
        _defer_by=defer_seconds or None,
    )


async def enqueue_advance_later(
    redis: ArqRedis, issuance_id: str, job_id: str, seconds: float
) -> None:
    """The main chain's next step, once another lane's lease may have run out."""
    await redis.enqueue_job(ADVANCE_ISSUANCE, issuance_id, _job_id=job_id, _defer_by=seconds)


def resume_job_id(issuance_id: str, resumes: int) -> str:
    """The first job of a failed batch resumed for the `resumes`-th time (POST .../retry)."""
    return f"adv:{issuance_id}:resume{resumes}"


def failed_export_job_id(issuance_id: str, step: int, recovery: int = 0) -> str:
    base = f"failed-csv:{issuance_id}:{step}"
    return f"{base}:r{recovery}" if recovery else base


async def enqueue_failed_export(
    redis: ArqRedis, issuance_id: str, job_id: str, defer_seconds: float | None = None
) -> None:
    """One step of writing the CSV of a failed (or cancelled) batch's cards."""
    await redis.enqueue_job(
        EXPORT_FAILED_ISSUANCE, issuance_id, _job_id=job_id, _defer_by=defer_seconds
    )


def status_job_id(change_id: str, step: int, recovery: int = 0) -> str:
    base = f"status:{change_id}:{step}"
    return f"{base}:r{recovery}" if recovery else base


async def enqueue_status_change(redis: ArqRedis, change_id: str, job_id: str) -> None:
    """One step of a deactivate / activate chain."""
    await redis.enqueue_job(SWITCH_CARD_STATUS, change_id, _job_id=job_id)


async def enqueue_notifications(redis: ArqRedis, card_ids: list[str]) -> None:
    """One try of each card's notification. The id is the card's for every try (the job keeps
    no result): queued twice it runs once, and the next try can be queued once this one ends."""
    for card_id in card_ids:
        await redis.enqueue_job(SEND_NOTIFICATION, card_id, _job_id=f"notify:{card_id}")


async def enqueue_webhook(redis: ArqRedis, delivery_id: str, due_ms: int, now_ms: int) -> None:
    """An attempt of an outbox delivery, at its due time. The id names the attempt, so the
    same attempt queued twice runs once; the cron sends whatever Redis lost."""
    await redis.enqueue_job(
        DELIVER_WEBHOOK,
        delivery_id,
        _job_id=f"webhook:{delivery_id}:{due_ms}",
        _defer_by=max(due_ms - now_ms, 0) / 1000,
    )


async def enqueue_submit_order(
    redis: ArqRedis, order_id: str, recovery: int = 0, after_part: int = 0, cut_at: str = ""
) -> None:
    """Writes the order's manifest and hands it to the printer (once per order); a big
    order's next job cuts on from `cut_at` (where its cut stands: batch and seq), or writes
    on after part `after_part`."""
    job_id = f"fulfill:{order_id}" + (f":c{cut_at}" if cut_at else "")
    job_id += f":p{after_part}" if after_part else ""
    job_id += f":r{recovery}" if recovery else ""
    await redis.enqueue_job(SUBMIT_ORDER, order_id, _job_id=job_id)


async def enqueue_activation(redis: ArqRedis, issuance_id: str, due_ms: int) -> None:
    """The batch's scheduled activation, run at `due_ms` (or at once when past). One id per
    batch, no result kept: while one is queued or running another is dropped, and once it
    ended the batch may be queued again (the job itself is idempotent)."""
    await redis.enqueue_job(
        ACTIVATE_SCHEDULED,
        issuance_id,
        _job_id=f"activate:{issuance_id}",
        _defer_by=max(due_ms / 1000 - time.time(), 0),
    )
