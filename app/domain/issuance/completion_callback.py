"""The completion callback of a queued batch, written to the webhook outbox in the same step
as the task's end (`batch._complete` and `batch.fail`).

There are no transactions, so the order of the writes is what keeps the event: the outbox row
first, held back (WEBHOOK_HOLD_SECONDS); then the task's end (one conditional update: completed or
failed); then `release` makes the row due and queues its first attempt.
- A crash (or an unreachable store) before the end is written: the task is still unfinished,
  so the step runs again (arq's retry, or the sweeper's recovery, or its final `fail`) and
  finds its row (the same event id: nothing new is inserted).
- A crash after it, before `release`: the hold runs out and the cron sends the row.
- Redis plays no part until the row exists: losing it loses a prompt job, not the event.
A row is never sent for an end that did not happen: its Source (tasks/callbacks.py) renders
the task as stored at send time, and while it is not finished postpones the row without
counting an attempt; when `complete` and `fail` race, the event says the state that won.

A task that ends again (a failed batch resumed) announces a new event: `task-{taskId}` for
the first end, `task-{taskId}-2` for the next, and so on.
"""

from app.domain.webhooks import outbox
from app.storage.models import WebhookDelivery
from app.storage.resources import Resources
from app.storage.states import FINISHED_TASK, DeliveryStatus, EventType


async def prepare(
    res: Resources, issuance_id: str, event_type: EventType
) -> WebhookDelivery | None:
    """The outbox row of the task's coming end (None: no callbackUrl, or no such task)."""
    issuance = await res.db.issuances.get(issuance_id)
    if issuance is None or not issuance.callback_url:
        return None
    latest = await res.db.webhook_deliveries.latest_of_subject(issuance_id)
    if latest is not None and (
        latest.state == DeliveryStatus.PENDING or issuance.status in FINISHED_TASK
    ):
        return latest  # this end's row (a step run again), or the end is announced already
    round_ = 1 if latest is None else latest.round + 1
    event_id = f"task-{issuance.task_id}" + (f"-{round_}" if round_ > 1 else "")
    delivery = outbox.new_delivery(
        res,
        event_id=event_id,
        event_type=event_type,
        merchant_id=issuance.merchant_id,
        program_id=issuance.program_id,
        url=issuance.callback_url,
        subject=issuance_id,
        data={"taskId": issuance.task_id, "bulkIssuanceId": issuance_id},
        round_=round_,
        hold_ms=int(res.settings.webhook_hold_seconds * 1000),
    )
    return await outbox.record(res, delivery)


async def release(res: Resources, delivery: WebhookDelivery | None) -> None:
    """The task's end is written: its callback is due now."""
    if delivery is not None:
        await outbox.release(res, delivery)


async def ensure(res: Resources, issuance_id: str) -> None:
    """The callback of a task that ended under an older version (its `deliver_callback` job
    was still queued): in the outbox and due (the type sent is the task's own end)."""
    await release(res, await prepare(res, issuance_id, EventType.BULK_ISSUANCE_COMPLETED))
