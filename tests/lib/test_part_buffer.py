"""PartBuffer: parts are exact or not written at all."""

from app.domain.issuance import part_buffer
from app.domain.issuance.csv_export import RowFormat
from app.domain.issuance.generation import IssuedCard
from app.domain.issuance.part_buffer import PartBuffer

COUNT_ROWS = RowFormat(["1.00", "USD", "2030-01-01T00:00:00.000Z"], recipients=None)


def card(seq: int) -> IssuedCard:
    return IssuedCard(id=f"{seq:024x}", seq=seq, number=f"{seq:019d}", document={})


def rows(body: bytes) -> list[str]:
    return body.decode().splitlines()


def buffer(requested: int) -> PartBuffer:
    return PartBuffer(rows_per_part=4, requested=requested, rows=COUNT_ROWS)


def test_whole_parts_across_calls_with_the_header_first():
    parts = buffer(10)
    assert parts.add([card(0), card(1), card(2)]) == []
    done = parts.add([card(3), card(4), card(5)])
    assert [part for part, _ in done] == [1]
    assert rows(done[0][1])[0] == ",".join(COUNT_ROWS.header())
    assert [r.split(",")[1] for r in rows(done[0][1])[1:]] == [f"{i:019d}" for i in range(4)]
    assert rows(done[0][1])[1].split(",")[2:] == ["0000", "1.00", "USD", "2030-01-01T00:00:00.000Z"]
    done = parts.add([card(6), card(7), card(8), card(9)])
    assert [part for part, _ in done] == [2, 3]
    assert len(rows(done[0][1])) == 4 and len(rows(done[1][1])) == 2  # last part is short


def test_a_gap_drops_the_part_and_nothing_leaks_into_the_next():
    parts = buffer(8)
    assert parts.add([card(0), card(1), card(3)]) == []  # seq 2 written by another run
    done = parts.add([card(4), card(5), card(6), card(7)])
    assert [part for part, _ in done] == [2]
    assert [r.split(",")[1] for r in rows(done[0][1])] == [f"{i:019d}" for i in range(4, 8)]


def test_starting_mid_part_writes_nothing_for_that_part():
    parts = buffer(8)
    assert parts.add([card(2), card(3)]) == []
    assert [p for p, _ in parts.add([card(4), card(5), card(6), card(7)])] == [2]


def test_a_half_filled_part_is_resumed_by_the_next_job_only_where_it_stopped():
    parts = buffer(8)
    parts.add([card(0), card(1)])
    part_buffer.keep("batch-a", 0, parts)
    assert part_buffer.resume("batch-a", 1, 2) is None  # a resumed run: its own CSV object
    part_buffer.keep("batch-a", 0, parts)
    assert part_buffer.resume("batch-a", 0, 3) is None  # the batch moved on meanwhile
    part_buffer.keep("batch-a", 0, parts)
    resumed = part_buffer.resume("batch-a", 0, 2)
    assert resumed is parts
    assert part_buffer.resume("batch-a", 0, 2) is None  # taken once
    done = resumed.add([card(2), card(3)])
    assert [r.split(",")[1] for r in rows(done[0][1])[1:]] == [f"{i:019d}" for i in range(4)]


def test_a_buffer_with_no_part_under_way_is_not_kept():
    parts = buffer(8)
    parts.add([card(0), card(1), card(2), card(3)])  # part 1 complete: nothing filling
    part_buffer.keep("batch-b", 0, parts)
    assert part_buffer.resume("batch-b", 0, 4) is None
