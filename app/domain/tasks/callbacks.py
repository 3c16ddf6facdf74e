"""The completion callback: the finished task, POSTed signed to the program's callbackUrl.

Its row in the webhook outbox is written in the same step as the task's end
(issuance/completion_callback.py); the outbox sends it (webhooks/outbox.py) through `SOURCE`:
`render` gives the task as it ended, with a freshly signed CSV link (a stored one would
expire while the delivery is retried for days), and waits while the task is not finished
(a cancelled one: until its cards are counted);
`observe` mirrors the delivery on the task (`callback`: status, attempts, lastError,
deliveredAt), as the API shows it. A receiver may see one event twice (we retry when its 2xx
got lost), so events carry a stable `id` to deduplicate on.
"""

from app.domain.tasks.services import TaskService
from app.domain.webhooks import outbox
from app.domain.webhooks.outbox import Rendered, Source
from app.storage.models import CallbackState, WebhookDelivery
from app.storage.resources import Resources
from app.storage.states import FINISHED_TASK, EventType, TaskStatus

END_EVENTS = {  # the callback's type, by how the task ended
    TaskStatus.COMPLETED: EventType.BULK_ISSUANCE_COMPLETED,
    TaskStatus.FAILED: EventType.BULK_ISSUANCE_FAILED,
    TaskStatus.CANCELLED: EventType.BULK_ISSUANCE_CANCELLED,
}


async def render(res: Resources, delivery: WebhookDelivery) -> Rendered | None:
    issuance = await res.db.issuances.get(delivery.subject)
    if issuance is None:
        raise LookupError(f"bulk issuance {delivery.subject} is gone")
    if issuance.status not in FINISHED_TASK:
        return None  # the end it announces is not written yet (or the task was resumed)
    if issuance.status == TaskStatus.CANCELLED and not issuance.cards_settled:
        return None  # lanes stopping: its issuedCount is not final yet
    event_type = END_EVENTS[issuance.status]
    task = TaskService(res).describe(issuance)
    data = task.model_dump(mode="json", exclude={"callback"})
    return Rendered(event_type, data, stored={**data, "csvDownloadUrl": None})


async def observe(res: Resources, delivery: WebhookDelivery) -> None:
    state = CallbackState(
        status=delivery.state,
        attempts=delivery.attempts,
        last_error=delivery.last_error,
        delivered_at=outbox.delivered_at(delivery),
        url=delivery.url,
    )
    await res.db.issuances.mirror_callback(delivery.subject, state)


SOURCE = Source(render=render, observe=observe)
SOURCES = dict.fromkeys(END_EVENTS.values(), SOURCE)
