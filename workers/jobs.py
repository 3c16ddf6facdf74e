"""arq job functions: thin wrappers that call the domain services with the worker's resources.

Each wrapper turns a failure into arq's `Retry(defer=backoff)` while tries remain, and records
the final failure where the user can see it (the task, the card, the callback state).
"""

import asyncio
import logging

from arq import Retry

from app.domain.fulfillment import auto as auto_fulfillment
from app.domain.fulfillment import submission
from app.domain.fulfillment import webhooks as fulfillment_webhooks
from app.domain.issuance import batch, recovery
from app.domain.notifications import services as notifications
from app.domain.tasks import callbacks
from app.lib.resources import Resources
from workers.outages import backoff_seconds, describe

log = logging.getLogger(__name__)


def _res(ctx: dict) -> Resources:
    return ctx["resources"]


def _retry_later(ctx: dict, exc: BaseException) -> Retry:
    cap = _res(ctx).settings.job_retry_max_delay_seconds
    return Retry(defer=backoff_seconds(ctx.get("job_try", 1), cap))


async def advance_issuance(ctx: dict, issuance_id: str) -> None:
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
            await batch.note_error(issuance_id, reason)
        except Exception:  # the database is what is down: the sweeper finishes the story
            log.warning("could not record the failure of bulk issuance %s", issuance_id)
        raise _retry_later(ctx, exc) from exc


async def send_notification(ctx: dict, card_id: str) -> None:
    final = ctx.get("job_try", 1) >= _res(ctx).settings.notification_max_tries
    try:
        await notifications.send_for_card(_res(ctx), card_id)
    except Exception as exc:
        await notifications.record_failure(card_id, f"{type(exc).__name__}: {exc}", final)
        log.warning("notification for card %s failed: %s", card_id, type(exc).__name__)
        if not final:
            raise _retry_later(ctx, exc) from exc


async def deliver_callback(ctx: dict, issuance_id: str) -> None:
    final = ctx.get("job_try", 1) >= _res(ctx).settings.callback_max_tries
    try:
        await callbacks.deliver(_res(ctx), issuance_id)
    except Exception as exc:
        await callbacks.record_failure(issuance_id, f"{type(exc).__name__}: {exc}", final)
        log.warning("callback for %s failed: %s", issuance_id, type(exc).__name__)
        if not final:
            raise _retry_later(ctx, exc) from exc


async def sweep(ctx: dict) -> None:
    """Cron: restart queued batches whose chain of jobs broke; re-queue stuck notifications."""
    recovered = await recovery.recover_stale_tasks(_res(ctx))
    requeued = await notifications.requeue_pending(_res(ctx))
    if recovered or requeued:
        log.info("sweep: %d task(s) recovered, %d notification(s) re-queued", recovered, requeued)


async def submit_fulfillment_order(ctx: dict, order_id: str) -> None:
    """Writes the order's manifest and submits it to the printer; retried with backoff."""
    res = _res(ctx)
    final = ctx.get("job_try", 1) >= res.settings.printer_max_tries
    try:
        async with asyncio.timeout(res.settings.job_timeout_seconds * 0.8):
            await submission.submit(res, order_id, ctx.get("job_try", 1))
    except Exception as exc:
        reason = describe(exc)
        log.warning("fulfillment order %s: %s (try %d)", order_id, reason, ctx.get("job_try", 1))
        await submission.record_failure(res, order_id, reason, final)
        if not final:
            raise _retry_later(ctx, exc) from exc


async def deliver_fulfillment_webhook(
    ctx: dict, order_id: str, event_type: str, program_id: str, change: dict
) -> None:
    final = ctx.get("job_try", 1) >= _res(ctx).settings.callback_max_tries
    try:
        await fulfillment_webhooks.deliver(_res(ctx), order_id, event_type, program_id, change)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        await fulfillment_webhooks.record_failure(order_id, event_type, error, final)
        log.warning("%s for order %s failed: %s", event_type, order_id, type(exc).__name__)
        if not final:
            raise _retry_later(ctx, exc) from exc


async def fulfillment_cutoffs(ctx: dict) -> None:
    """Cron: fulfill AUTO configurations at the latest cut-off (once); re-queue lost orders."""
    cut = await auto_fulfillment.run_cutoffs(_res(ctx))
    requeued = await submission.requeue_stuck(_res(ctx))
    if cut or requeued:
        log.info("fulfillment: %d AUTO order(s) cut, %d order(s) re-queued", cut, requeued)
