"""A batch's parts, shared by lanes: what each lane may lease, and what is known to exist."""

from datetime import UTC, datetime

from app.domain.issuance import failed_export, parts
from app.storage.models import BulkIssuance, PartClaim
from app.storage.states import IssuanceMode, TaskStatus

ROWS = 10


def batch(requested: int = 35, **fields) -> BulkIssuance:
    return BulkIssuance.model_construct(
        merchant_id="m",
        program_id="p",
        task_id="t",
        is_async=True,
        mode=IssuanceMode.COUNT,
        status=TaskStatus.RUNNING,
        requested_count=requested,
        initial_value=100,
        currency="USD",
        card_number_prefix="6271",
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        **{
            "issued_count": 0,
            "failed_count": 0,
            "csv_parts": {},
            "part_claims": {},
            "part_issued": {},
            **fields,
        },
    )


def test_the_contiguous_run_stops_at_the_first_open_part():
    b = batch(csv_parts={"1": "a", "3": "c"}, part_issued={"1": 10, "2": 4, "3": 10, "4": 5})
    assert parts.contiguous(b, ROWS) == 14  # part 3 is done, but part 2 is not
    assert parts.issued(b) == 29  # every part's progress
    assert not parts.all_done(b, ROWS)
    assert parts.all_done(batch(csv_parts={str(n): "e" for n in range(1, 5)}), ROWS)


def test_progress_of_a_batch_from_before_parts_comes_from_its_issued_count():
    b = batch(issued_count=17)
    assert parts.progress(b, parts.part(b, 2, ROWS)) == 7
    assert parts.contiguous(b, ROWS) == 17


def test_a_lane_leases_its_own_part_first_then_free_or_lapsed_ones_never_part_1_if_a_helper():
    claims = {
        "2": PartClaim(holder="h1.r0.0", until_ms=1_000),
        "3": PartClaim(holder="main", until_ms=5_000),
        "4": PartClaim(holder="h2.r0.0", until_ms=5_000),
    }
    b = batch(requested=45, part_claims=claims)
    assert parts.claimable(b, ROWS, "main", now_ms=2_000) == [3, 1, 2, 5]
    assert parts.claimable(b, ROWS, "h2.r0.0", now_ms=2_000) == [4, 2, 5]
    assert parts.claimable(b, ROWS, "h1.r0.0", now_ms=500) == [2, 5]
    assert parts.next_lease_end(b) == 1_000
    assert parts.helper_run(parts.helper_lane(2, resumes=3, recoveries=1)) == 3


def test_a_failed_batchs_csv_keeps_parts_other_lanes_finished_and_ends_with_the_rest():
    # parts 1 and 3 done while issuing, part 2 open at 4 cards (and 2 strays past them)
    b = batch(
        issued_count=14,
        failed_count=35 - 14 - 10 - 5 - 2,
        csv_parts={"1": "a", "3": "c"},
        part_issued={"1": 10, "2": 4, "3": 10, "4": 5},
    )
    assert failed_export._plan(b, ROWS) == [1, 3, 5]
    assert failed_export._rest_ranges(b, ROWS) == [(10, 20), (30, 35)]
    alone = batch(issued_count=14, failed_count=21, csv_parts={"1": "a"}, part_issued={"2": 4})
    assert failed_export._plan(alone, ROWS) == [1, 2]  # one lane: as before
    assert failed_export._rest_ranges(alone, ROWS) == [(10, None)]
