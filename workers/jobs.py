"""arq job functions: thin wrappers that call the domain services with the worker's resources.

Each wrapper turns a failure into arq's `Retry(defer=backoff)` while tries remain, and records
the final failure where the user can see it (the task, the card, the callback or order state):
`_retrying` does that for every job but the batch chain, whose failures feed the sweeper.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from arq import Retry

from app.domain.fulfillment import auto as auto_fulfillment
from app.domain.fulfillment import submission
from app.domain.fulfillment import webhooks as fulfillment_webhooks
from app.domain.issuance import batch, recovery
from app.domain.notifications import services as notifications
from app.domain.tasks import callbacks
from app.storage.resources import Resources
from workers.outages import backoff_seconds, describe

log = logging.getLogger(__name__)
JobContext = dict[str, Any]  # arq's per-job context: job_id, job_try, and our `resources`


def _res(ctx: JobContext) -> Resources:
    resources: Resources = ctx["resources"]
    return resources


def _retry_later(ctx: JobContext, exc: BaseException) -> Retry:
    cap = _res(ctx).settings.job_retry_max_delay_seconds
    return Retry(defer=backoff_seconds(ctx.get("job_try", 1), cap))


async def advance_issuance(ctx: JobContext, issuance_id: str) -> None:
    res = _res(ctx)
    timeout = res.settings.job_timeout_seconds
    try:
        # Stay inside arq's own timeout (a job that hits it is never retried; ours is), and
        # hand off after 40% of it (60% to finish a CSV part), so the last step still fits.
        async with asyncio.timeout(timeout * 0.8):
            await batch.advance(
                res,
                issuance_id,
                ctx["job_id"],
                slice_seconds=timeout * 0.4,
                stretch_seconds=timeout * 0.6,
            )
    except Exception as exc:
        reason = describe(exc)
        log.warning("bulk issuance %s: %s (try %d)", issuance_id, reason, ctx.get("job_try", 1))
        try:
            if ctx.get("job_try", 1) >= res.settings.job_max_tries:
                await batch.fail(res, issuance_id, reason)
                return
            await batch.note_error(res, issuance_id, reason)
        except Exception:  # the database is what is down: the sweeper finishes the story
            log.warning("could not record the failure of bulk issuance %s", issuance_id)
        raise _retry_later(ctx, exc) from exc


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


async def _retrying(
    ctx: JobContext,
    what: str,
    max_tries: int,
    call: Callable[[], Awaitable[object]],
    record_failure: Callable[[str, bool], Awaitable[None]],
    error_text: Callable[[BaseException], str] = _error_text,
) -> None:
    """Runs `call`; on failure records it (final on the last try) and, while tries remain,
    asks arq to run the job again after a backoff."""
    final = ctx.get("job_try", 1) >= max_tries
    try:
        await call()
    except Exception as exc:
        await record_failure(error_text(exc), final)
        log.warning("%s failed (try %d): %s", what, ctx.get("job_try", 1), type(exc).__name__)
        if not final:
            raise _retry_later(ctx, exc) from exc


async def send_notification(ctx: JobContext, card_id: str) -> None:
    await _retrying(
        ctx,
        f"notification for card {card_id}",
        _res(ctx).settings.notification_max_tries,
        lambda: notifications.send_for_card(_res(ctx), card_id),
        lambda error, final: notifications.record_failure(_res(ctx), card_id, error, final),
    )


async def deliver_callback(ctx: JobContext, issuance_id: str) -> None:
    await _retrying(
        ctx,
        f"callback for {issuance_id}",
        _res(ctx).settings.callback_max_tries,
        lambda: callbacks.deliver(_res(ctx), issuance_id),
        lambda error, final: callbacks.record_failure(_res(ctx), issuance_id, error, final),
    )


async def sweep(ctx: JobContext) -> None:
    """Cron: restart queued batches whose chain of jobs broke; re-queue stuck notifications."""
    recovered = await recovery.recover_stale_tasks(_res(ctx))
    requeued = await notifications.requeue_pending(_res(ctx))
    if recovered or requeued:
        log.info("sweep: %d task(s) recovered, %d notification(s) re-queued", recovered, requeued)


async def submit_fulfillment_order(ctx: JobContext, order_id: str) -> None:
    """Writes the order's manifest and submits it to the printer; retried with backoff."""
    res = _res(ctx)

    async def submit() -> None:
        # like the batch chain: inside arq's timeout, and a big manifest hands off to a next job
        timeout = res.settings.job_timeout_seconds
        async with asyncio.timeout(timeout * 0.8):
            await submission.submit(res, order_id, ctx.get("job_try", 1), timeout * 0.4)

    await _retrying(
        ctx,
        f"fulfillment order {order_id}",
        res.settings.printer_max_tries,
        submit,
        lambda reason, final: submission.record_failure(res, order_id, reason, final),
        error_text=describe,
    )


async def deliver_fulfillment_webhook(
    ctx: JobContext, order_id: str, event_type: str, program_id: str, change: dict[str, Any]
) -> None:
    await _retrying(
        ctx,
        f"{event_type} for order {order_id}",
        _res(ctx).settings.callback_max_tries,
        lambda: fulfillment_webhooks.deliver(_res(ctx), order_id, event_type, program_id, change),
        lambda error, final: fulfillment_webhooks.record_failure(
            _res(ctx), order_id, event_type, error, final
        ),
    )


async def fulfillment_cutoffs(ctx: JobContext) -> None:
    """Cron: fulfill AUTO configurations at the latest cut-off (once); re-queue lost orders."""
    cut = await auto_fulfillment.run_cutoffs(_res(ctx))
    requeued = await submission.requeue_stuck(_res(ctx))
    if cut or requeued:
        log.info("fulfillment: %d AUTO order(s) cut, %d order(s) re-queued", cut, requeued)
