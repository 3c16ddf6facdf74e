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
from app.domain.issuance import (
    activation,
    batch,
    completion_callback,
    failed_export,
    recovery,
    status_chain,
)
from app.domain.notifications import sending as notifications
from app.domain.tasks import callbacks
from app.domain.webhooks import outbox
from app.lib.logging import bind_ids
from app.storage.resources import Resources
from workers.outages import backoff_seconds, describe

log = logging.getLogger(__name__)
JobContext = dict[str, Any]  # arq's per-job context: job_id, job_try, and our `resources`
# how each kind of event is rendered and shown when the outbox sends it
WEBHOOK_SOURCES: outbox.Sources = {**callbacks.SOURCES, **fulfillment_webhooks.SOURCES}


def _res(ctx: JobContext) -> Resources:
    resources: Resources = ctx["resources"]
    return resources


def _retry_later(ctx: JobContext, exc: BaseException) -> Retry:
    cap = _res(ctx).settings.job_retry_max_delay_seconds
    return Retry(defer=backoff_seconds(ctx.get("job_try", 1), cap))


async def advance_issuance(ctx: JobContext, issuance_id: str) -> None:
    bind_ids(issuance_id=issuance_id)  # and its task_id, once read (batch.advance)
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


async def help_issuance(ctx: JobContext, issuance_id: str, lane: str, step: int) -> None:
    """A helper lane of a batch spread over several workers. Its failures are retried; after
    its tries it simply ends: its lease lapses and the main chain takes its part over."""
    bind_ids(issuance_id=issuance_id)
    res = _res(ctx)
    timeout = res.settings.job_timeout_seconds

    async def run() -> None:
        async with asyncio.timeout(timeout * 0.8):
            await batch.help(res, issuance_id, lane, step, timeout * 0.4, timeout * 0.6)

    async def record(reason: str, final: bool) -> None:
        await batch.note_error(res, issuance_id, reason)
        if final:  # its part goes to another lane now, not once the lease lapses
            await res.db.issuances.release_parts(issuance_id, lane)

    await _retrying(
        ctx,
        f"helper {lane} of bulk issuance {issuance_id}",
        res.settings.job_max_tries,
        run,
        record,
        error_text=describe,
    )


async def export_failed_issuance(ctx: JobContext, issuance_id: str) -> None:
    """A step of the CSV of a failed batch's cards; after its tries the sweeper re-queues it."""
    bind_ids(issuance_id=issuance_id)
    res = _res(ctx)
    timeout = res.settings.job_timeout_seconds

    async def export() -> None:
        async with asyncio.timeout(timeout * 0.8):
            await failed_export.run(res, issuance_id, ctx["job_id"], slice_seconds=timeout * 0.4)

    await _retrying(
        ctx,
        f"CSV of failed bulk issuance {issuance_id}",
        res.settings.job_max_tries,
        export,
        lambda reason, final: failed_export.record_failure(issuance_id, reason, final),
        error_text=describe,
    )


async def switch_card_status(ctx: JobContext, change_id: str) -> None:
    """A step of a batch's deactivate / activate; failures feed the sweeper like a batch's."""
    bind_ids(task_id=change_id)  # a status change's id is its task's
    res = _res(ctx)
    timeout = res.settings.job_timeout_seconds
    try:
        async with asyncio.timeout(timeout * 0.8):
            await status_chain.advance(res, change_id, ctx["job_id"], slice_seconds=timeout * 0.4)
    except Exception as exc:
        reason = describe(exc)
        log.warning("status change %s: %s (try %d)", change_id, reason, ctx.get("job_try", 1))
        try:
            if ctx.get("job_try", 1) >= res.settings.job_max_tries:
                await status_chain.fail(res, change_id, reason)
                return
            await status_chain.note_error(res, change_id, reason)
        except Exception:  # the database is what is down: the sweeper finishes the story
            log.warning("could not record the failure of status change %s", change_id)
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
    """One try, if due. Not retried by arq: a failure is scheduled on the card, and the sweep
    queues the next try when it is due (so a Redis that loses its jobs loses nothing)."""
    bind_ids(card_id=card_id)
    await notifications.send_due(_res(ctx), card_id)


async def deliver_webhook(ctx: JobContext, delivery_id: str) -> None:
    """One attempt of an outbox delivery, if it is due and no other worker holds it. Never
    retried by arq: the outbox schedules the next attempt (and the cron sends what is lost)."""
    bind_ids(delivery_id=delivery_id)
    await outbox.deliver_one(_res(ctx), WEBHOOK_SOURCES, delivery_id)


async def deliver_webhooks(ctx: JobContext) -> None:
    """Cron: the outbox's due deliveries (retries, and any whose job Redis lost)."""
    res = _res(ctx)
    # claims new deliveries while one begun now still ends inside the job's timeout (not
    # cut by an asyncio.timeout: its lanes are never cancelled, see outbox.deliver_due)
    timeout = res.settings.job_timeout_seconds
    claiming = max(1.0, timeout * 0.5 - res.settings.webhook_timeout_seconds)
    try:
        attempted = await outbox.deliver_due(res, WEBHOOK_SOURCES, claiming)
    except Exception as exc:  # the next tick tries again; nothing is lost meanwhile
        log.warning("webhooks: %s", describe(exc))
        return
    if attempted:
        log.info("webhooks: %d delivery attempt(s)", attempted)


async def _into_outbox(ctx: JobContext, what: str, call: Callable[[], Awaitable[None]]) -> None:
    try:
        await call()
    except Exception as exc:
        log.warning("%s: not in the outbox yet (%s)", what, type(exc).__name__)
        raise _retry_later(ctx, exc) from exc


async def deliver_callback(ctx: JobContext, issuance_id: str) -> None:
    """A job queued by an older version: its callback goes to the outbox, which sends it."""
    await _into_outbox(
        ctx,
        f"callback for {issuance_id}",
        lambda: completion_callback.ensure(_res(ctx), issuance_id),
    )


async def sweep(ctx: JobContext) -> None:
    """Cron: restart queued batches whose chain of jobs broke; queue the notifications due,
    and the scheduled activations whose job was lost."""
    recovered = await recovery.recover_stale_tasks(_res(ctx))
    recovered += await status_chain.recover_stale_changes(_res(ctx))  # deactivate / activate
    recovered += await activation.queue_due(_res(ctx))
    requeued = await notifications.queue_due(_res(ctx))
    if recovered or requeued:
        log.info("sweep: %d task(s) recovered, %d notification(s) queued", recovered, requeued)


async def activate_scheduled(ctx: JobContext, issuance_id: str) -> None:
    """A batch's scheduled cards become active: one range update (issuance/activation.py)."""
    bind_ids(issuance_id=issuance_id)
    await activation.run(_res(ctx), issuance_id)


async def submit_fulfillment_order(ctx: JobContext, order_id: str) -> None:
    """Writes the order's manifest and submits it to the printer; retried with backoff."""
    bind_ids(order_id=order_id)
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
    """A job queued by an older version: its event goes to the outbox, which sends it."""
    await _into_outbox(
        ctx,
        f"{event_type} for order {order_id}",
        lambda: fulfillment_webhooks.ensure_event(
            _res(ctx), order_id, event_type, program_id, change
        ),
    )


async def fulfillment_cutoffs(ctx: JobContext) -> None:
    """Cron: fulfill AUTO configurations at the latest cut-off (once); re-queue lost orders."""
    cut = await auto_fulfillment.run_cutoffs(_res(ctx))
    requeued = await submission.requeue_stuck(_res(ctx))
    if cut or requeued:
        log.info("fulfillment: %d AUTO order(s) cut, %d order(s) re-queued", cut, requeued)
