"""Scheduled activation: a batch's cards are `scheduled` until its `activatesAt`, then one
range update per batch makes them `active` (no job per card).

The update is an `activate_scheduled` job deferred to the moment itself, queued when the batch
is accepted, and queued again when a queued batch ends (its lanes insert `scheduled` cards
until then: the job leaves a batch still issuing alone; a failed or cancelled one, once its
cards are counted, failed_export.settle) and by the sweeper for a batch that is due and still
scheduled (Redis lost the job). It sets every card of the batch still
`scheduled` to `active` (a card deactivated meanwhile stays inactive), then the batch's
`card_status`, in that order, so a job that dies between the two is simply run again. Until
then a card reads `active` once its time has passed (cards/schemas.py): the API is on time
whatever the job's delay.
"""

import logging

from app.lib import jobs
from app.lib.types import now_ms
from app.storage.models import BulkIssuance
from app.storage.resources import Resources
from app.storage.states import FINISHED_TASK, CardStatus

log = logging.getLogger(__name__)
DUE_GRACE_MS = 30_000  # the sweeper leaves a due batch this long to its own job


async def schedule(res: Resources, issuance: BulkIssuance) -> None:
    """Queues the batch's activation for its time (a lost job: the sweeper queues it)."""
    if issuance.activates_ms is None or issuance.card_status != CardStatus.SCHEDULED:
        return
    try:
        await jobs.enqueue_activation(res.redis, str(issuance.id), issuance.activates_ms)
    except Exception:
        log.warning("bulk issuance %s: activation left to the sweeper", issuance.id)


async def run(res: Resources, issuance_id: str) -> None:
    issuance = await res.db.issuances.get(issuance_id)
    if issuance is None or issuance.card_status != CardStatus.SCHEDULED:
        return  # activated already, or deactivated / activated by its merchant meanwhile
    issuing = issuance.status not in FINISHED_TASK or not issuance.cards_settled
    if (issuance.activates_ms or 0) > now_ms() or issuing:
        return  # early, or lanes may still insert: its end (or the sweeper) queues it again
    cards = await res.db.cards.activate_scheduled(issuance.program_id, issuance_id)
    if await res.db.issuances.activated(issuance_id):
        log.info("bulk issuance %s: %d scheduled card(s) activated", issuance_id, cards)


async def queue_due(res: Resources) -> int:
    """The sweeper's part: ended batches due a while ago and still scheduled."""
    due = await res.db.issuances.due_activations(now_ms() - DUE_GRACE_MS, limit=100)
    for issuance_id in due:
        await jobs.enqueue_activation(res.redis, issuance_id, 0)
    return len(due)
