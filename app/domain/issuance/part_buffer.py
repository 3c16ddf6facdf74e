"""The CSV rows of the part a lane is on, built as its cards are issued, so a batch needs no
second pass to export.

`PartRows` holds a part's rows from its first seq up to `next_seq` (the header first in part 1).
A lane appends the rows of the cards it inserts; rows of cards it did not insert itself (an
earlier, crashed run wrote them) are read back from the database, a bounded slice per step,
before it goes on. Either way the part is the same bytes.

A job that hands off mid-part leaves its rows to the lane's next job: in this process
(`keep` / `resume`), and in the object store (lanes.py) for a next job on another worker.
"""

from collections import OrderedDict
from dataclasses import dataclass, field

from app.domain.issuance.csv_export import encode_rows


@dataclass
class PartRows:
    number: int  # 1-based part number
    start: int  # its first seq
    end: int  # past its last seq
    next_seq: int  # rows are held for [start, next_seq)
    chunks: list[bytes] = field(default_factory=list)

    @classmethod
    def empty(cls, number: int, start: int, end: int, header: list[str]) -> "PartRows":
        chunks = [encode_rows([header])] if number == 1 else []
        return cls(number, start, end, start, chunks)

    def add(self, rows: list[list[str]], upto: int) -> None:
        """The rows of seqs [next_seq, upto), in order."""
        self.chunks.append(encode_rows(rows))
        self.next_seq = upto

    @property
    def complete(self) -> bool:
        return self.next_seq >= self.end

    def body(self) -> bytes:
        body = b"".join(self.chunks)
        self.chunks = [body]  # joined once
        return body


KEPT_BUFFERS = 4  # half-filled parts a worker process holds between jobs (~8 MB each at most)


# (issuance id, resumes, lane) → its rows
def spool_key(csv_key: str, part: int) -> str:
    """Where a lane leaves a half-filled part's rows for its next job (next to the CSV)."""
    return f"{csv_key}.part{part}.rows"


_kept: OrderedDict[tuple[str, int, str], PartRows] = OrderedDict()


def keep(issuance_id: str, resumes: int, rows: PartRows, lane: str = "main") -> None:
    """Leaves a part's rows to the lane's next job, if it runs in this process."""
    _kept[(issuance_id, resumes, lane)] = rows
    while len(_kept) > KEPT_BUFFERS:
        _kept.popitem(last=False)


def resume(issuance_id: str, resumes: int, part: int, lane: str = "main") -> PartRows | None:
    """The rows of part `part` the lane's previous job of this run kept in this process."""
    rows = _kept.pop((issuance_id, resumes, lane), None)
    if rows is None or rows.number != part:
        return None
    return rows
