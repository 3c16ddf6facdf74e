"""PartBuffer: parts are exact or not written at all."""

from datetime import UTC, datetime

from app.domain.issuance import csv_export
from app.domain.issuance.generation import IssuedCard
from app.domain.issuance.part_buffer import PartBuffer


def card(seq: int) -> IssuedCard:
    doc = {
        "_id": f"{seq:024x}",
        "last_four": "0000",
        "initial_value": 100,
        "currency": "USD",
        "expires_at": datetime(2030, 1, 1, tzinfo=UTC),
        "recipient": None,
    }
    return IssuedCard(id=doc["_id"], seq=seq, number=f"{seq:019d}", document=doc)


def rows(body: bytes) -> list[str]:
    return body.decode().splitlines()


def test_whole_parts_across_calls_with_the_header_first():
    buffer = PartBuffer(rows_per_part=4, requested=10, mode="count")
    assert buffer.add([card(0), card(1), card(2)]) == []
    done = buffer.add([card(3), card(4), card(5)])
    assert [part for part, _ in done] == [1]
    assert rows(done[0][1])[0] == ",".join(csv_export.header("count"))
    assert [r.split(",")[1] for r in rows(done[0][1])[1:]] == [f"{i:019d}" for i in range(4)]
    done = buffer.add([card(6), card(7), card(8), card(9)])
    assert [part for part, _ in done] == [2, 3]
    assert len(rows(done[0][1])) == 4 and len(rows(done[1][1])) == 2  # last part is short


def test_a_gap_drops_the_part_and_nothing_leaks_into_the_next():
    buffer = PartBuffer(rows_per_part=4, requested=8, mode="count")
    assert buffer.add([card(0), card(1), card(3)]) == []  # seq 2 written by another run
    done = buffer.add([card(4), card(5), card(6), card(7)])
    assert [part for part, _ in done] == [2]
    assert [r.split(",")[1] for r in rows(done[0][1])] == [f"{i:019d}" for i in range(4, 8)]


def test_starting_mid_part_writes_nothing_for_that_part():
    buffer = PartBuffer(rows_per_part=4, requested=8, mode="count")
    assert buffer.add([card(2), card(3)]) == []
    assert [p for p, _ in buffer.add([card(4), card(5), card(6), card(7)])] == [2]
