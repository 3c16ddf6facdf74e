"""A manifest's rows built from a batch's CSV instead of read back from its cards.

Reading 100,000 cards back costs nx-27017 ~10 s (~100 µs a document): a third of a fresh
order's whole fulfillment. A batch's CSV already holds each card's id and number in seq order,
and every other cell of a row follows from the batch (print fields, expiry) and the cut (each
box's seq range). So where the order holds every seq of its span of a batch, and the batch
issued all its cards in one run (row k of its CSV is card seq k), the rows come from the CSV.
Each read's first and last rows are checked against their cards: a CSV that does not line up
(it ended early, a row is missing) makes that read fall back to the cards. Count-mode batches
only: their CSV has no quoted cells and their cards no parcel of their own.
"""

import logging
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

from app.domain.fulfillment.manifest_rows import card_row, stored_row
from app.lib.object_store import ObjectReader
from app.storage.models import BulkIssuance, CutProgress, FulfillmentOrder, OrderBatch
from app.storage.models.looks import CardLooks
from app.storage.repositories.card_fulfillment import ManifestCard, manifest_card
from app.storage.resources import Resources
from app.storage.states import IssuanceMode, TaskStatus

log = logging.getLogger(__name__)
MIN_CARDS = 2_000  # below a box, reading the cards costs less than opening the CSV
READ_BYTES = 1 << 20


@dataclass(frozen=True)
class CsvPlan:
    """A batch whose rows come from its CSV: where the CSV is, and each box's seq range."""

    issuance: BulkIssuance
    box_firsts: list[int]  # sorted first seq of each box range
    box_numbers: list[int]


async def csv_plans(res: Resources, order: FulfillmentOrder, from_index: int) -> dict[int, CsvPlan]:
    """The order's batches (by index, from `from_index`) whose rows can come from their CSV."""
    plans: dict[int, CsvPlan] = {}
    cut = order.cut
    if cut is None or not cut.box_seqs:  # an order cut before boxes recorded their ranges
        return plans
    for index, batch in enumerate(order.batches):
        if index < from_index or batch.count < MIN_CARDS:
            continue
        if batch.count != batch.last - batch.first + 1:  # others hold seqs of its span
            continue
        boxes = _boxes_over(cut, batch)
        if boxes is None:
            continue
        issuance = await res.db.issuances.get(batch.issuance)
        if issuance is None or not _issued_whole(issuance):
            continue
        assert issuance.csv_key is not None
        if await res.store.exists(issuance.csv_key):  # else gone (the exports' retention)
            plans[index] = CsvPlan(issuance, [b[0] for b in boxes], [b[1] for b in boxes])
    return plans


def _issued_whole(issuance: BulkIssuance) -> bool:
    """Its CSV has a row for every seq, in seq order, and no quoted cell."""
    return (
        issuance.mode == IssuanceMode.COUNT
        and issuance.status == TaskStatus.COMPLETED
        and issuance.issued_count == issuance.requested_count
        and issuance.failed_count == 0
        and issuance.resumes == 0
        and issuance.csv_key is not None
    )


def _boxes_over(cut: CutProgress, batch: OrderBatch) -> list[tuple[int, int]] | None:
    """(first seq, box number) of the boxes of `batch`, in seq order, if their ranges tile
    the order's span of it exactly (each of its cards then is in the box whose range holds
    its seq); None otherwise."""
    plan = {i for i, planned in enumerate(cut.plan) if planned.issuance == batch.issuance}
    ranges = sorted(
        (max(first, batch.first), min(end, batch.last + 1), box)
        for box, (index, first, end) in enumerate(cut.box_seqs, start=1)
        if index in plan and first <= batch.last and end > batch.first
    )
    at = batch.first
    for first, end, _ in ranges:
        if first != at:
            return None
        at = end
    return [(first, box) for first, _, box in ranges] if at == batch.last + 1 else None


class BatchCsvRows:
    """The manifest rows of one batch, read in turn from its CSV (opened lazily, so one
    stream is open at a time however many batches the order holds)."""

    def __init__(
        self, res: Resources, order_id: str, batch: OrderBatch, plan: CsvPlan, shipping: list[str]
    ) -> None:
        self.res, self.order_id, self.batch, self.plan = res, order_id, batch, plan
        self.shipping = shipping
        issuance = plan.issuance
        self.looks = CardLooks(issuance.personalization, issuance.name_line1_start_index)
        self.shared: dict[str, Any] = {
            "number_enc": b"",
            "design_template": issuance.design_template,
            "expires_at": issuance.expires_at,
        }
        self.lines: _CsvLines | None = None

    async def rows(self, first: int, end: int) -> list[list[str]]:
        """The rows of seqs [first, end): in order, each call going on from the last."""
        if self.lines is None:
            key = self.plan.issuance.csv_key
            reader = await self.res.store.open_if_exists(key) if key else None
            self.lines = _CsvLines(reader, skip=1 + first)  # the header, the seqs before
        pairs = await self.lines.take(end - first)
        rows = [
            card_row(self.order_id, self._card(seq, card_id), number, self.shipping)
            for seq, (card_id, number) in enumerate(pairs, start=first)
        ]
        if len(rows) == end - first and await self._lined_up(first, end, rows):
            return rows
        log.warning(
            "order %s: the CSV of batch %s does not line up at seqs %d-%d: rows from its cards",
            self.order_id, self.batch.issuance, first, end - 1,
        )  # fmt: skip
        return await self._from_cards(first, end)

    def _card(self, seq: int, card_id: str) -> ManifestCard:
        plan = self.plan
        box = plan.box_numbers[bisect_right(plan.box_firsts, seq) - 1]
        looks = self.looks.of(seq)
        return manifest_card(
            {**self.shared, "_id": card_id, "personalization": looks, "fulfillment": {"box": box}}
        )

    async def _lined_up(self, first: int, end: int, rows: list[list[str]]) -> bool:
        """Whether the first and the last row are those of their cards' documents."""
        if await self._from_cards(first, first + 1) != rows[:1]:
            return False
        return await self._from_cards(end - 1, end) == rows[-1:]

    async def _from_cards(self, first: int, end: int) -> list[list[str]]:
        batch = self.batch
        found = await self.res.db.cards.manifest_cards(
            batch.program, batch.issuance, self.order_id, first, end - first
        )
        return [stored_row(self.res.vault, self.order_id, c, self.shipping) for c in found]

    def close(self) -> None:
        if self.lines is not None:
            self.lines.close()


class _CsvLines:
    """(id, number) of each row of a count-mode CSV (`id,cardNumber,...`, no quoted cell), read
    in pieces; the first `skip` lines are passed over. No object: no rows."""

    def __init__(self, reader: ObjectReader | None, skip: int) -> None:
        self.reader, self.skip = reader, skip
        self.pairs: list[tuple[str, str]] = []
        self.rest = b""

    async def take(self, count: int) -> list[tuple[str, str]]:
        while len(self.pairs) < count and self.reader is not None:
            piece = await self.reader.read(READ_BYTES)
            if not piece:
                self.close()
            data = self.rest + piece
            cut = data.rfind(b"\n") + 1 if piece else len(data)
            self.rest = data[cut:]
            lines = data[:cut].decode("utf-8").splitlines()
            passed = min(self.skip, len(lines))
            self.skip -= passed
            self.pairs += [_pair(line) for line in lines[passed:] if line]
        taken, self.pairs = self.pairs[:count], self.pairs[count:]
        return taken

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None


def _pair(line: str) -> tuple[str, str]:
    cells = line.split(",", 2)
    return (cells[0], cells[1]) if len(cells) > 1 else (cells[0], "")
