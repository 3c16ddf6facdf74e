"""A lane: one job's way through a queued batch's parts (parts.py), a chunk at a time.

Each step leases a part (its own first, then the lowest open one), issues the next chunk of
it, and records the part's progress; the step that issues a part's last card uploads its CSV
part (from the rows it buffered, or read back from the database when another run wrote some
of them) and marks the part done. The batch's main chain and its helpers are all lanes.
"""

import logging

from app.domain.issuance import csv_export, part_buffer, parts
from app.domain.issuance.generation import CardFactory, insert_range
from app.domain.issuance.part_buffer import PartBuffer
from app.domain.issuance.parts import Part
from app.lib import jobs, metrics
from app.lib.types import now_ms
from app.storage.models import BulkIssuance
from app.storage.resources import Resources
from app.storage.states import IssuanceMode

log = logging.getLogger(__name__)


class Lane:
    def __init__(self, res: Resources, issuance: BulkIssuance, name: str, run: int) -> None:
        self.res, self.name, self.run = res, name, run
        self.issuance_id = str(issuance.id)
        self.rows = res.settings.csv_part_rows
        self.lease_ms = res.settings.job_timeout_seconds * 1000
        self.factory = CardFactory(issuance, res.vault, res.settings.card_number_length)
        self.format = csv_export.RowFormat.for_issuance(issuance)
        self.requested = issuance.requested_count
        self.buffer: PartBuffer | None = None

    async def step(self, issuance: BulkIssuance) -> BulkIssuance | None:
        """One chunk of the first part this lane can lease: the batch after it, or None when
        every open part is done or leased to another lane (or the batch stopped)."""
        now = now_ms()
        for number in parts.claimable(issuance, self.rows, self.name, now):
            claimed = await self.res.db.issuances.claim_part(
                self.issuance_id, self.run, number, self.name, now, now + self.lease_ms
            )
            if claimed is not None:
                return await self._work(claimed, parts.part(claimed, number, self.rows))
        return None

    async def _work(self, issuance: BulkIssuance, part: Part) -> BulkIssuance:
        start = part.start + parts.progress(issuance, part)
        body: bytes | None = None
        if start < part.end:
            end = min(start + self.res.settings.batch_chunk_size, part.end)
            body = await self._issue(issuance, part, start, end)
            issuance = await self._raise(part, end - part.start) or issuance
            if end < part.end:
                return issuance
        etag = await self._upload(issuance, part, body)
        finished = await self.res.db.issuances.finish_part(
            self.issuance_id, self.run, part.number, part.size, etag
        )
        if finished is None:
            return issuance
        await self._raise_contiguous(finished)
        return finished

    async def _issue(
        self, issuance: BulkIssuance, part: Part, start: int, end: int
    ) -> bytes | None:
        """Inserts the cards [start, end) that are missing; the CSV part they complete, if
        this lane buffered all of its rows."""
        inserted = await insert_range(self.res.db.cards, self.factory, start, end)
        metrics.CARDS_ISSUED.labels("queued").inc(len(inserted))
        inserted.sort(key=lambda card: card.seq)
        buffer = self._buffer_at(start)
        completed = buffer.add(inserted)
        log.info(
            "bulk issuance %s: cards %d-%d done (%d new, lane %s)",
            self.issuance_id,
            start,
            end,
            len(inserted),
            self.name,
        )
        if issuance.mode == IssuanceMode.RECIPIENTS:
            await self._queue_notifications(issuance, start, end)
        return next((body for number, body in completed if number == part.number), None)

    def _buffer_at(self, start: int) -> PartBuffer:
        """This lane's buffer, going on from `start` if it stopped there (a kept one, too)."""
        if self.buffer is None or self.buffer.next_seq != start:
            kept = part_buffer.resume(self.issuance_id, self.run, start, self.name)
            self.buffer = kept or PartBuffer(self.rows, self.requested, self.format)
        return self.buffer

    def keep(self) -> None:
        """Leaves a half-filled part to the lane's next job, if it runs in this process."""
        if self.buffer is not None:
            part_buffer.keep(self.issuance_id, self.run, self.buffer, self.name)

    def filling(self) -> bool:
        return self.buffer is not None and self.buffer.filling

    async def _raise(self, part: Part, issued: int) -> BulkIssuance | None:
        raised = await self.res.db.issuances.raise_part(self.issuance_id, part.number, issued)
        if raised is not None:
            await self._raise_contiguous(raised)
        return raised

    async def _raise_contiguous(self, issuance: BulkIssuance) -> None:
        contiguous = parts.contiguous(issuance, self.rows)
        if contiguous > issuance.issued_count:
            await self.res.db.issuances.raise_issued(self.issuance_id, contiguous)

    async def _upload(self, issuance: BulkIssuance, part: Part, body: bytes | None) -> str:
        """The part's CSV: the buffered rows, or (another run wrote some cards) read back."""
        upload_id = issuance.csv_upload_id
        if upload_id is None:
            upload_id = await csv_export.claim_upload(
                self.res.store, self.res.db.issuances, issuance
            )
            issuance.csv_upload_id = upload_id
        if body is None:
            return await csv_export.export_part(
                self.res.store,
                self.res.vault,
                self.res.db.cards,
                issuance,
                upload_id,
                part.number,
                self.rows,
            )
        key = csv_export.csv_key(issuance)
        etag = await self.res.store.upload_part(key, upload_id, part.number, body)
        log.debug("issuance %s: CSV part %d written while issuing", self.issuance_id, part.number)
        return etag

    async def _queue_notifications(self, issuance: BulkIssuance, start: int, end: int) -> None:
        """Queues the range's pending notifications, cards of an earlier crashed run included;
        the notify job id and the card's notification state keep a card from being sent
        twice. The batch is reopened for the sweep (a resumed batch may have been closed)."""
        cards, batches = self.res.db.cards, self.res.db.issuances
        card_ids = await cards.open_notifications(
            issuance.program_id, self.issuance_id, seqs=(start, end)
        )
        if card_ids and not issuance.notifications_open:
            await batches.reopen_notifications(self.issuance_id)
        await jobs.enqueue_notifications(self.res.redis, card_ids)
