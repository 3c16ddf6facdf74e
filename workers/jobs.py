"""arq job functions: thin wrappers that call the domain services with the worker's resources."""

import logging

from arq import Retry

from app.domain.issuance import batch
from app.domain.notifications import services as notifications
from app.lib.resources import Resources

log = logging.getLogger(__name__)


def _resources(ctx: dict) -> Resources:
    return ctx["resources"]


def backoff(job_try: int, base: float = 2.0, cap: float = 300.0) -> float:
    return min(cap, base ** min(job_try, 12))


async def issue_chunk(ctx: dict, issuance_id: str, start: int) -> None:
    await batch.run_chunk(_resources(ctx), issuance_id, start)


async def finish_issuance(ctx: dict, issuance_id: str) -> None:
    await batch.finish(_resources(ctx), issuance_id)


async def send_notification(ctx: dict, card_id: str) -> None:
    job_try = ctx.get("job_try", 1)
    max_tries = _resources(ctx).settings.notification_max_tries
    try:
        await notifications.send_for_card(_resources(ctx), card_id)
    except Exception as exc:
        final = job_try >= max_tries
        await notifications.record_failure(card_id, f"{type(exc).__name__}: {exc}", final)
        log.warning(
            "notification for card %s failed (try %d): %s", card_id, job_try, type(exc).__name__
        )
        if final:
            return
        raise Retry(defer=backoff(job_try)) from exc
