"""A queued batch that fails keeps what it issued: its cards are counted honestly, and the
CSV of exactly those cards is written next (failed_export.py), so none is stranded unread.

The count reads the seq index: every seq below `issued_count` exists (a chunk raises it only
once all its cards are in). Past it, a done part (parts.py) has all its cards, and an open part
has its recorded progress plus whatever a chunk cut short left, in any order: those ranges
are read from the index, a few short range queries whatever the batch's size
(`count_documents` is wrong on nx-27017, and slow everywhere on big batches).
"""

import logging

from app.domain.issuance import parts
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
        cards = await count_cards(res, issuance)
        export_job = jobs.failed_export_job_id(issuance_id, issuance.step + 1)
        failed = await res.db.issuances.fail(issuance, reason, cards, export_job)
        if failed is not None:
            log.info(
                "bulk issuance %s failed with %d of %d cards",
                issuance_id,
                cards.found,
                issuance.requested_count,
            )
            await queue_export(res, issuance_id, export_job)
            return failed
    return None


async def count_cards(res: Resources, issuance: BulkIssuance) -> CardsFound:
    rows = res.settings.csv_part_rows
    start = issuance.issued_count
    found = contiguous = start
    for number in range(1, parts.count(issuance.requested_count, rows) + 1):
        part = parts.part(issuance, number, rows)
        if part.end <= start:
            continue
        made = max(parts.progress(issuance, part), start - part.start)  # known to exist
        low = part.start + made
        past = await res.db.cards.seqs_between(issuance.program_id, str(issuance.id), low, part.end)
        found += low - max(part.start, start) + len(past)
        if contiguous >= part.start:  # the run goes on while there is no gap
            contiguous = max(contiguous, low)
            for seq in past:  # ascending
                if seq != contiguous:
                    break
                contiguous += 1
    return CardsFound(contiguous=contiguous, found=found)


async def queue_export(res: Resources, issuance_id: str, job_id: str) -> None:
    """A queue that is down now only delays the CSV: the sweeper queues it later."""
    try:
        await jobs.enqueue_failed_export(res.redis, issuance_id, job_id)
    except Exception:
        log.warning("bulk issuance %s: CSV of its cards left to the sweeper", issuance_id)
