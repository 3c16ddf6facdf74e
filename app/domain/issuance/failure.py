"""A queued batch that fails keeps what it issued: its cards are counted honestly, and the
CSV of exactly those cards is written next (failed_export.py), so none is stranded unread.

The count reads the seq index: every seq below `issued_count` exists (a chunk raises it only
once all its cards are in), and a chunk cut short may have left some cards past it, in any
order. So `issued_count + (cards from there on)` is the honest count, read in one short range
query (`count_documents` is wrong on nx-27017, and slow everywhere on big batches).
"""

import logging

from app.lib import jobs
from app.storage.models import BulkIssuance
from app.storage.repositories import CardsFound
from app.storage.resources import Resources
from app.storage.states import FINISHED_TASK

log = logging.getLogger(__name__)
ATTEMPTS = 3  # the batch moved between reading and failing it: read it again


async def record(res: Resources, issuance_id: str, reason: str) -> BulkIssuance | None:
    """Fails the batch with its cards counted and queues the CSV of those cards. The batch as
    it failed; None when it had finished already (or is still moving: its owner goes on)."""
    for _ in range(ATTEMPTS):
        issuance = await res.db.issuances.get(issuance_id)
        if issuance is None or issuance.status in FINISHED_TASK:
            return None
        cards = await _count_cards(res, issuance)
        export_job = jobs.failed_export_job_id(issuance_id, issuance.step + 1)
        failed = await res.db.issuances.fail(issuance, reason, cards, export_job)
        if failed is not None:
            log.info(
                "bulk issuance %s failed with %d of %d cards",
                issuance_id,
                cards.found,
                issuance.requested_count,
            )
            await _queue_export(res, issuance_id, export_job)
            return failed
    return None


async def _count_cards(res: Resources, issuance: BulkIssuance) -> CardsFound:
    start = issuance.issued_count
    past = await res.db.cards.seqs_from(issuance.program_id, str(issuance.id), start)
    contiguous = start
    for seq in past:  # ascending: the run goes on while there is no gap
        if seq != contiguous:
            break
        contiguous += 1
    return CardsFound(contiguous=contiguous, found=start + len(past))


async def _queue_export(res: Resources, issuance_id: str, job_id: str) -> None:
    """A queue that is down now only delays the CSV: the sweeper queues it later."""
    try:
        await jobs.enqueue_failed_export(res.redis, issuance_id, job_id)
    except Exception:
        log.warning("bulk issuance %s: CSV of its cards left to the sweeper", issuance_id)
