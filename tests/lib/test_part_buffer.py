"""PartRows: a part's rows from its first seq on, kept between a lane's jobs."""

from app.domain.issuance import part_buffer
from app.domain.issuance.csv_export import RowFormat
from app.domain.issuance.generation import IssuedCard
from app.domain.issuance.part_buffer import PartRows

COUNT_ROWS = RowFormat(["1.00", "USD", "2030-01-01T00:00:00.000Z"], recipients=None)


def rows_of(*seqs: int) -> list[list[str]]:
    cards = [IssuedCard(id=f"{s:024x}", seq=s, number=f"{s:019d}", document={}) for s in seqs]
    return [COUNT_ROWS.issued_row(card) for card in cards]


def test_part_1_starts_with_the_header_and_is_complete_at_its_end():
    first = PartRows.empty(1, 0, 4, COUNT_ROWS.header())
    first.add(rows_of(0, 1), 2)
    assert not first.complete
    first.add(rows_of(2, 3), 4)
    lines = first.body().decode().splitlines()
    assert lines[0] == ",".join(COUNT_ROWS.header())
    assert [line.split(",")[1] for line in lines[1:]] == [f"{i:019d}" for i in range(4)]
    assert lines[1].split(",")[2:] == ["0000", "1.00", "USD", "2030-01-01T00:00:00.000Z"]
    assert first.complete and first.body() == first.body()  # joined once, the same bytes
    later = PartRows.empty(2, 4, 6, COUNT_ROWS.header())
    later.add(rows_of(4, 5), 6)
    assert len(later.body().decode().splitlines()) == 2  # no header past part 1


def test_kept_rows_go_to_the_same_lane_run_and_part_once():
    held = PartRows.empty(3, 8, 12, COUNT_ROWS.header())
    held.add(rows_of(8), 9)
    part_buffer.keep("batch-a", 0, held, "h1")
    assert part_buffer.resume("batch-a", 0, 3, "main") is None  # another lane
    part_buffer.keep("batch-a", 0, held, "h1")
    assert part_buffer.resume("batch-a", 1, 3, "h1") is None  # a resumed run: its own CSV
    part_buffer.keep("batch-a", 0, held, "h1")
    assert part_buffer.resume("batch-a", 0, 4, "h1") is None  # the lane is on another part
    part_buffer.keep("batch-a", 0, held, "h1")
    assert part_buffer.resume("batch-a", 0, 3, "h1") is held
    assert part_buffer.resume("batch-a", 0, 3, "h1") is None  # taken once
