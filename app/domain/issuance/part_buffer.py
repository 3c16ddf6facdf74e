"""CSV parts written while the cards are issued, so a batch needs no second pass to export.

A job that itself inserts every card of a part's seq range holds exactly the rows that part
must contain, and uploads it on the spot. Any gap (cards written by an earlier, crashed run;
a part split between two jobs) drops the buffer: that part is read back from the database in
the export phase instead. Either way the part is the same bytes.

A job that hands off with a part half filled leaves the buffer to the worker process
(`keep`); if the next job of that batch runs in the same process and the batch has not moved
since (`resume`: its issued count is where the buffer stopped), it goes on filling it instead
of reading the part's first cards back. The buffer's own gap check still guards every card.
With a batch spread over several workers, each lane (lanes.py) has its own buffer.
"""

from collections import OrderedDict
from dataclasses import dataclass, field

from app.domain.issuance.csv_export import RowFormat, encode_rows
from app.domain.issuance.generation import IssuedCard


@dataclass
class PartBuffer:
    rows_per_part: int
    requested: int
    rows: RowFormat
    part: int | None = None  # 1-based part number being filled
    next_seq: int = 0
    chunks: list[bytes] = field(default_factory=list)

    def add(self, cards: list[IssuedCard]) -> list[tuple[int, bytes]]:
        """Takes newly inserted cards in seq order; returns the parts they completed."""
        complete: list[tuple[int, bytes]] = []
        rows: list[list[str]] = []
        for card in cards:
            if card.seq % self.rows_per_part == 0:  # a part starts here
                self._start(card.seq)
                rows = []
            elif self.part is None or card.seq != self.next_seq:
                self.part = None  # a gap: this part comes from the database later
                rows = []
                continue
            rows.append(self.rows.issued_row(card))
            self.next_seq = card.seq + 1
            if self.next_seq == self._end():
                assert self.part is not None
                complete.append((self.part, self._take(rows)))
                rows = []
                self.part = None
        if self.part is not None and rows:
            self.chunks.append(encode_rows(rows))
        return complete

    @property
    def filling(self) -> bool:
        """A part is under way: handing off now would drop it."""
        return self.part is not None

    def _start(self, seq: int) -> None:
        self.part = seq // self.rows_per_part + 1
        self.next_seq = seq
        self.chunks = [encode_rows([self.rows.header()])] if seq == 0 else []

    def _end(self) -> int:
        assert self.part is not None
        return min(self.part * self.rows_per_part, self.requested)

    def _take(self, rows: list[list[str]]) -> bytes:
        body = b"".join([*self.chunks, encode_rows(rows)])
        self.chunks = []
        return body


KEPT_BUFFERS = 4  # half-filled parts a worker process holds between jobs (~8 MB each at most)
# (issuance id, resumes, lane) → its buffer
_kept: OrderedDict[tuple[str, int, str], PartBuffer] = OrderedDict()


def keep(issuance_id: str, resumes: int, parts: PartBuffer, lane: str = "main") -> None:
    """Leaves a half-filled part to the lane's next job, if it runs in this process."""
    if not parts.filling:
        return
    _kept[(issuance_id, resumes, lane)] = parts
    while len(_kept) > KEPT_BUFFERS:
        _kept.popitem(last=False)


def resume(issuance_id: str, resumes: int, next_seq: int, lane: str = "main") -> PartBuffer | None:
    """The buffer the lane's previous job of this run kept, if it stopped exactly at
    `next_seq` (the lane goes on from there)."""
    parts = _kept.pop((issuance_id, resumes, lane), None)
    if parts is None or not parts.filling or parts.next_seq != next_seq:
        return None
    return parts
