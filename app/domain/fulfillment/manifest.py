"""The order's manifest: the CSV a card printer needs, one row per card, as a private object.

Rows come from a cursor in batches and leave as multipart parts of at least 5 MiB (S3's floor),
so memory stays flat for any order size; a small order is a single `put`. A big order's
manifest is written by a chain of short jobs, each going on from the part the last recorded
(like a batch's CSV), so no job outlives its timeout. The rows of a big batch the order holds
whole are built from the batch's CSV rather than read back from its cards (manifest_csv.py).
Numbers are decrypted here only to be written into the object: they are never logged.
"""

import asyncio
import csv
import io
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

from botocore.exceptions import ClientError

from app.domain.fulfillment.manifest_csv import BatchCsvRows, csv_plans
from app.domain.fulfillment.manifest_rows import HEADER, shipping_cells, stored_row
from app.lib.object_store import ObjectStore
from app.lib.types import now_ms
from app.storage.models import FulfillmentOrder, ManifestProgress, OrderBatch, ShippingConfig
from app.storage.repositories import CardRepository, FulfillmentOrderRepository
from app.storage.repositories.card_fulfillment import ManifestCard
from app.storage.resources import Resources

log = logging.getLogger(__name__)
CSV_TYPE = "text/csv; charset=utf-8"
PART_BYTES = 6 * 1024 * 1024  # S3's floor is 5 MiB for every part but the last
ROWS_PER_READ = 10_000  # each range read costs nx-27017 ~0.1-0.2 s up front: fewer, bigger reads


def manifest_key(order: FulfillmentOrder) -> str:
    return f"manifests/{order.merchant_id}/{order.id}.csv"


def _encode(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


@dataclass(frozen=True)
class ManifestState:
    """Where the manifest stands after one job's share: `whole` once the object exists."""

    parts: int
    whole: bool


class ManifestSuperseded(Exception):
    """Another job recorded this part first: it owns the manifest, this job stops."""


async def write_manifest(
    res: Resources, order: FulfillmentOrder, config: ShippingConfig, budget_seconds: float
) -> ManifestState:
    """Writes the manifest on from the order's recorded progress, one part after another, until
    it is whole or the next part would end past `budget_seconds`; then the caller queues the
    next job, which goes on from the last recorded part. Rows are the same on every run (by
    bulk issuance, then seq: the postfix order), so a part written twice is written identically."""
    started = part_started = time.monotonic()
    order_id = str(order.id)
    upload = _Upload(res.store, res.db.fulfillment_orders, manifest_key(order), order)
    if upload.progress is None:
        upload.add(_encode([HEADER]), 0, (0, None))
    shipping = shipping_cells(config.shipping)
    reads = list(_reads(order, upload.resume_at))
    from_csv = await csv_plans(res, order, upload.resume_at[0])
    if from_csv:
        log.info("order %s: rows of %d batches from their CSVs", order.id, len(from_csv))
    ahead = _ReadAhead(res.db.cards, order_id, [r for r in reads if r[0] not in from_csv])
    source: BatchCsvRows | None = None
    try:
        for index, batch, seq in reads:
            if index in from_csv:
                if source is None or source.batch is not batch:
                    _close(source)
                    source = BatchCsvRows(res, order_id, batch, from_csv[index], shipping)
                rows = await source.rows(seq, min(seq + ROWS_PER_READ, batch.last + 1))
            else:
                cards = await ahead.next()
                rows = [stored_row(res.vault, order_id, card, shipping) for card in cards]
            upload.add(_encode(rows), len(rows), (index, seq + ROWS_PER_READ))
            if upload.size < PART_BYTES:
                continue
            await upload.flush_part()
            now = time.monotonic()
            part_seconds, part_started = now - part_started, now
            if now - started + part_seconds > budget_seconds:
                log.info("order %s: manifest part %d written, handing off", order.id,
                         upload.parts)  # fmt: skip
                return ManifestState(upload.parts, whole=False)
    finally:
        ahead.close()
        _close(source)
    await upload.finish()
    log.info("order %s: manifest written, %d rows", order.id, upload.rows)
    return ManifestState(upload.parts, whole=True)


def _close(source: BatchCsvRows | None) -> None:
    if source is not None:
        source.close()


def _reads(
    order: FulfillmentOrder, resume_at: tuple[int, int | None]
) -> Iterator[tuple[int, OrderBatch, int]]:
    """(batch index, batch, first seq) of each read, from where the last part ended: seq ranges
    of the cards' unique index, whose cost does not grow with the position (an `_id > x` query
    does on nx-27017)."""
    resume, seq = resume_at
    for index, batch in enumerate(order.batches):
        if index < resume:
            continue
        start = batch.first if seq is None or index > resume else max(seq, batch.first)
        for first in range(start, batch.last + 1, ROWS_PER_READ):
            yield index, batch, first


class _ReadAhead:
    """The manifest's range reads in turn, each sent as the last one's cards are handed over:
    the database serves the next read while this process builds, encodes and uploads rows."""

    def __init__(
        self, cards: CardRepository, order_id: str, reads: list[tuple[int, OrderBatch, int]]
    ) -> None:
        self.cards, self.order_id, self.reads = cards, order_id, iter(reads)
        self.pending = self._send()

    def _send(self) -> "asyncio.Task[list[ManifestCard]] | None":
        read = next(self.reads, None)
        if read is None:
            return None
        _, batch, seq = read
        found = self.cards.manifest_cards(
            batch.program, batch.issuance, self.order_id, seq, ROWS_PER_READ
        )
        return asyncio.ensure_future(found)

    async def next(self) -> list[ManifestCard]:
        assert self.pending is not None
        cards = await self.pending
        self.pending = self._send()
        await asyncio.sleep(0)  # the next read goes out before the rows are built
        return cards

    def close(self) -> None:
        """Drops a read sent ahead that is not wanted (a hand-off, a failure)."""
        task, self.pending = self.pending, None
        if task is None:
            return
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: an unwanted read's failure is no one's error
        task.cancel()


class _Upload:
    """A single put when the whole manifest stays under one part; a multipart upload otherwise,
    its progress (upload id, part ETags, where the next rows start, rows) recorded on the order
    after each part by a conditional update, so two jobs on one order never both move it on."""

    def __init__(
        self,
        store: ObjectStore,
        orders: FulfillmentOrderRepository,
        key: str,
        order: FulfillmentOrder,
    ) -> None:
        self.store, self.orders, self.key, self.order_id = store, orders, key, str(order.id)
        self.progress: ManifestProgress | None = order.manifest_progress
        self.chunks: list[bytes] = []
        self.size = 0
        self.pending_rows = 0
        self.pending_end: tuple[int, int | None] = (0, None)

    @property
    def parts(self) -> int:
        return len(self.progress.etags) if self.progress else 0

    @property
    def rows(self) -> int:
        return (self.progress.rows if self.progress else 0) + self.pending_rows

    @property
    def resume_at(self) -> tuple[int, int | None]:
        """(batch index, seq) where the rows after the recorded parts start."""
        if not self.progress:
            return 0, None
        return self.progress.batch, self.progress.seq

    def add(self, data: bytes, rows: int, end: tuple[int, int | None]) -> None:
        """Buffers `data`; `end` is where the rows after it start."""
        self.chunks.append(data)
        self.size += len(data)
        self.pending_rows += rows
        self.pending_end = end

    async def flush_part(self) -> None:
        progress = self.progress
        upload_id = progress.upload_id if progress else None
        if upload_id is None:
            upload_id = await self.store.start_multipart(self.key, CSV_TYPE)
        body = b"".join(self.chunks)
        try:
            etag = await self.store.upload_part(self.key, upload_id, self.parts + 1, body)
        except ClientError as exc:
            if _code(exc) == "NoSuchUpload" and progress:  # gone (expired): start over
                await self.orders.drop_manifest_upload(self.order_id, upload_id)
            raise
        after = ManifestProgress(
            upload_id=upload_id,
            etags=[*(progress.etags if progress else []), etag],
            batch=self.pending_end[0],
            seq=self.pending_end[1],
            rows=self.rows,
            updated_ms=now_ms(),
        )
        if not await self.orders.advance_manifest(self.order_id, progress, after):
            if not progress:
                await self.store.abort_multipart(self.key, upload_id)
            raise ManifestSuperseded(f"order {self.order_id}: another job wrote this part")
        self.progress = after
        self.chunks, self.size, self.pending_rows = [], 0, 0

    async def finish(self) -> None:
        if self.progress is None:
            await self.store.put(self.key, b"".join(self.chunks), CSV_TYPE)
            return
        if self.chunks:
            await self.flush_part()
        etags = dict(enumerate(self.progress.etags, start=1))
        try:
            await self.store.complete_multipart(self.key, self.progress.upload_id, etags)
        except ClientError as exc:  # completed by a job that raced this one
            if _code(exc) != "NoSuchUpload" or not await self.store.exists(self.key):
                raise


def _code(exc: ClientError) -> str:
    code: str = exc.response.get("Error", {}).get("Code", "")
    return code
