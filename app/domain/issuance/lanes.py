"""A lane: one job's way through a queued batch's parts (parts.py), a chunk at a time.

Each step leases a part (its own first, then the lowest open one), issues the next chunk of
it, and records the part's progress; the step that issues a part's last card uploads its CSV
part (from the rows it buffered, or read back from the database when another run wrote some
of them) and marks the part done. The batch's main chain and its helpers are all lanes.
"""

import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from app.domain.issuance import csv_export, part_buffer, parts
from app.domain.issuance.generation import INSERT_BATCH, CardFactory, insert_range
from app.domain.issuance.part_buffer import PartRows
from app.domain.issuance.parts import Part
from app.lib import jobs, metrics
from app.lib.types import now_ms
from app.storage.models import BulkIssuance
from app.storage.resources import Resources
from app.storage.states import IssuanceMode

log = logging.getLogger(__name__)
CSV = csv_export.CSV_TYPE
_here: Counter[str] = Counter()  # issuance id → lanes of it running in this process
_chunks: dict[str, int] = {}  # issuance id → cards per step here, while under BATCH_CHUNK_SIZE
SLOW_SECONDS = 5.0  # a piece of a step that takes this long is logged (a warning)


def next_chunk(size: int, full: int, spent: float, job_seconds: float) -> int:
    """Cards in a lane's next step, after a step of `size` cards took `spent` seconds: half
    after one that took over a quarter of a job's time, twice (up to `full`) after one under a
    twentieth. On a database that slows down as it grows (nx-27017 past two million cards) a
    5,000-card step came to outlast a whole job, and its retries, the same step again, did not
    end either, until the batch failed."""
    if spent > job_seconds / 4:
        return max(INSERT_BATCH, size // 2)
    if spent < job_seconds / 20:
        return min(full, size * 2)
    return size


@contextmanager
def running_here(issuance_id: str) -> Iterator[None]:
    """Marks a lane of the batch as running in this worker process while in the block."""
    _here[issuance_id] += 1
    try:
        yield
    finally:
        _here[issuance_id] -= 1
        if not _here[issuance_id]:
            del _here[issuance_id]


def busy_here(issuance_id: str) -> bool:
    """A lane of the batch runs in this process already: a helper belongs on another worker
    (a second lane here would only share this process's CPU, and hold a second CSV part)."""
    return _here[issuance_id] > 0


class Lane:
    def __init__(self, res: Resources, issuance: BulkIssuance, name: str, run: int) -> None:
        self.res, self.name, self.run = res, name, run
        self.issuance_id = str(issuance.id)
        self.rows = res.settings.csv_part_rows
        self.lease_ms = res.settings.job_timeout_seconds * 1000
        self.factory = CardFactory(issuance, res.vault, res.settings.card_number_length)
        self.format = csv_export.RowFormat.for_issuance(issuance)
        self.csv_key = csv_export.csv_key(issuance)
        self.rows_held: PartRows | None = None

    async def step(self, issuance: BulkIssuance) -> BulkIssuance | None:
        """One chunk of the first part this lane can lease: the batch after it, or None when
        every open part is done or leased to another lane (or the batch stopped)."""
        now = now_ms()
        for number in parts.claimable(issuance, self.rows, self.name, now):
            async with self._timed(f"leasing part {number}"):
                claimed = await self.res.db.issuances.claim_part(
                    self.issuance_id, self.run, number, self.name, now, now + self.lease_ms
                )
            if claimed is not None:
                # a lane held it before: rows of it may be spooled (its own, or a dead lane's)
                held = str(number) in issuance.part_claims
                return await self._work(claimed, parts.part(claimed, number, self.rows), held)
        return None

    async def _work(self, issuance: BulkIssuance, part: Part, held: bool) -> BulkIssuance:
        """One bounded step on `part`: rows to read back, else a chunk to issue, else (every
        row held) its CSV part to upload."""
        start = part.start + parts.progress(issuance, part)
        rows = await self._rows_of(part, start if held else part.start)
        if rows.next_seq < start:  # cards the lane did not insert itself: read them back
            upto = min(start, rows.next_seq + self._chunk())
            found = csv_export.read_rows(
                self.res.vault, self.res.db.cards, issuance, self.format, rows.next_seq, upto
            )
            async with self._timed(f"reading back cards {rows.next_seq}-{upto}", sized=True):
                rows.add([row async for row in found], upto)
            if not rows.complete:
                return issuance
        elif start < part.end:
            end = min(start + self._chunk(), part.end)
            async with self._timed(f"issuing cards {start}-{end}", sized=True):
                await self._issue(issuance, rows, start, end)
            issuance = await self._raise(part, end - part.start) or issuance
            if not rows.complete:  # the part's CSV once this lane holds all its rows
                return issuance
        async with self._timed(f"uploading CSV part {part.number}"):
            etag = await self._upload(issuance, part, rows.body())
        finished = await self.res.db.issuances.finish_part(
            self.issuance_id, self.run, part.number, part.size, etag
        )
        self.rows_held = None
        if held:
            await self._unspool(part.number)
        if finished is None:
            return issuance
        await self._raise_contiguous(finished)
        return finished

    async def _issue(self, issuance: BulkIssuance, rows: PartRows, start: int, end: int) -> None:
        """Inserts the cards [start, end) that are missing; holds their rows if it inserted
        them all (else the next step reads the range back)."""
        inserted = await insert_range(self.res.db.cards, self.factory, start, end)
        metrics.CARDS_ISSUED.labels("queued").inc(len(inserted))
        if len(inserted) == end - start:
            inserted.sort(key=lambda card: card.seq)
            rows.add([self.format.issued_row(card) for card in inserted], end)
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

    async def _rows_of(self, part: Part, start: int) -> PartRows:
        """The lane's rows of `part` (whose cards exist up to `start`): its own, those its
        previous job kept in this process or left in the object store, or none yet."""
        held = self.rows_held
        if held is not None and held.number == part.number:
            return held
        held = part_buffer.resume(self.issuance_id, self.run, part.number, self.name)
        if held is None and start > part.start:
            async with self._timed(f"reading part {part.number}'s spooled rows"):
                held = await self._unspooled(part)
        if held is None:
            held = PartRows.empty(part.number, part.start, part.end, self.format.header())
        self.rows_held = held
        return held

    def _spool_key(self, part: int) -> str:
        return part_buffer.spool_key(self.csv_key, part)

    async def _unspooled(self, part: Part) -> PartRows | None:
        try:
            spooled = await self.res.store.get_if_exists(self._spool_key(part.number))
        except Exception as exc:  # only a shortcut: the rows can be read back instead
            log.warning("bulk issuance %s: spool not read (%s)", self.issuance_id, exc)
            return None
        if spooled is None:
            return None
        first_line, body = spooled.split(b"\n", 1)
        return PartRows(part.number, part.start, part.end, int(first_line), [body])

    async def _unspool(self, part: int) -> None:
        try:
            await self.res.store.delete(self._spool_key(part))
        except Exception as exc:  # a leftover spool is only a shortcut nobody takes
            log.warning("bulk issuance %s: spool not deleted (%s)", self.issuance_id, exc)

    async def keep(self) -> None:
        """Leaves a half-filled part to the lane's next job: in this process, and in the
        object store (next to the CSV, as secret as it) for a job on another worker, which
        would otherwise read the part's cards back from the database."""
        held = self.rows_held
        if held is None or held.next_seq == held.start:
            return
        part_buffer.keep(self.issuance_id, self.run, held, self.name)
        spooled = f"{held.next_seq}\n".encode() + held.body()
        try:
            async with self._timed(f"spooling part {held.number}'s rows"):
                await self.res.store.put(self._spool_key(held.number), spooled, CSV)
        except Exception as exc:  # only a shortcut: the rows can be read back instead
            log.warning("bulk issuance %s: rows not spooled (%s)", self.issuance_id, exc)

    def _chunk(self) -> int:
        return _chunks.get(self.issuance_id, self.res.settings.batch_chunk_size)

    @asynccontextmanager
    async def _timed(self, what: str, sized: bool = False) -> AsyncIterator[None]:
        """Logs a piece of a step that took SLOW_SECONDS or more, also one cut short by the
        job's timeout: where a busy database or store spends a step's budget. A `sized` piece
        (issuing or reading back a chunk) sets the size of the lane's next chunk in this
        process (`next_chunk`), also when the job's timeout cut it short."""
        began = time.monotonic()
        try:
            yield
        finally:
            spent = time.monotonic() - began
            if sized:
                self._resize(spent)
            if spent >= SLOW_SECONDS:
                log.warning(
                    "bulk issuance %s, lane %s: %s took %.1f s",
                    self.issuance_id,
                    self.name,
                    what,
                    spent,
                )

    def _resize(self, spent: float) -> None:
        full, size = self.res.settings.batch_chunk_size, self._chunk()
        resized = next_chunk(size, full, spent, self.res.settings.job_timeout_seconds)
        if resized != size:
            log.info("bulk issuance %s: %d cards a step from now on", self.issuance_id, resized)
        if resized >= full:
            _chunks.pop(self.issuance_id, None)
        else:
            _chunks[self.issuance_id] = resized

    def filling(self) -> bool:
        held = self.rows_held
        return held is not None and held.next_seq > held.start and not held.complete

    async def _raise(self, part: Part, issued: int) -> BulkIssuance | None:
        raised = await self.res.db.issuances.raise_part(self.issuance_id, part.number, issued)
        if raised is not None:
            await self._raise_contiguous(raised)
        return raised

    async def _raise_contiguous(self, issuance: BulkIssuance) -> None:
        contiguous = parts.contiguous(issuance, self.rows)
        if contiguous > issuance.issued_count:
            await self.res.db.issuances.raise_issued(self.issuance_id, contiguous)

    async def _upload(self, issuance: BulkIssuance, part: Part, body: bytes) -> str:
        upload_id = issuance.csv_upload_id
        if upload_id is None:
            upload_id = await csv_export.claim_upload(
                self.res.store, self.res.db.issuances, issuance
            )
            issuance.csv_upload_id = upload_id
        etag = await self.res.store.upload_part(self.csv_key, upload_id, part.number, body)
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
