"""A queued batch's parts: the unit that several workers share.

Part `p` (1-based) is the seq range `[(p-1)·rows, p·rows)` and the CSV part of the same
number. A part is *done* once its CSV part is uploaded and recorded (`csv_parts`): every card
of its range exists by then. Until then a lane (the batch's main chain, or a helper) holds it
through a lease (`part_claims`) and raises `part_issued[p]`, the cards that exist
contiguously from the part's start. Any lane may take over a part whose lease ran out; a re-run
inserts only what is missing (the seq index), so two lanes on one part never duplicate a card.

`issued_count` stays what it always was: every seq below it exists (the done parts from part
1 on, then the first open part's contiguous progress). A failing batch counts from there.
"""

from dataclasses import dataclass

from app.storage.models import BulkIssuance

MAIN_LANE = "main"  # the chain the sweeper recovers


def helper_lane(n: int, resumes: int, recoveries: int) -> str:
    """Helper `n`'s name: it leases only in its run, and each recovery queues fresh ones."""
    return f"h{n}.r{resumes}.{recoveries}"


def helper_run(lane: str) -> int:
    return int(lane.split(".")[1][1:])


@dataclass(frozen=True)
class Part:
    number: int
    start: int
    end: int

    @property
    def size(self) -> int:
        return self.end - self.start


def count(requested: int, rows: int) -> int:
    return max(1, -(-requested // rows))


def part(issuance: BulkIssuance, number: int, rows: int) -> Part:
    start = (number - 1) * rows
    return Part(number, start, min(number * rows, issuance.requested_count))


def progress(issuance: BulkIssuance, p: Part) -> int:
    """Cards of part `p` that exist contiguously from its start (batches from before parts
    only had `issued_count`, which is contiguous too)."""
    if str(p.number) in issuance.csv_parts:
        return p.size
    own = issuance.part_issued.get(str(p.number), 0)
    return max(own, min(max(issuance.issued_count - p.start, 0), p.size))


def contiguous(issuance: BulkIssuance, rows: int) -> int:
    """Every seq below this exists: done parts from part 1 on, then the first open one's."""
    total = 0
    for number in range(1, count(issuance.requested_count, rows) + 1):
        p = part(issuance, number, rows)
        made = progress(issuance, p)
        total += made
        if made < p.size:
            break
    return total


def issued(issuance: BulkIssuance) -> int:
    """Cards known to exist, every part counted (what a poll shows while lanes run): a done
    part's progress is its size; a batch from before parts only has `issued_count`."""
    return max(issuance.issued_count, sum(issuance.part_issued.values()))


def claimable(issuance: BulkIssuance, rows: int, lane: str, now_ms: int) -> list[int]:
    """Open parts this lane may hold, lowest first: its own, unheld ones, lapsed leases.
    Only the main chain takes part 1 (so a failed batch's CSV starts with its header)."""
    held_by_me, free = [], []
    for number in range(1, count(issuance.requested_count, rows) + 1):
        if str(number) in issuance.csv_parts or (number == 1 and lane != MAIN_LANE):
            continue
        claim = issuance.part_claims.get(str(number))
        if claim is not None and claim.holder == lane:
            held_by_me.append(number)
        elif claim is None or claim.until_ms < now_ms:
            free.append(number)
    return held_by_me + free


def next_lease_end(issuance: BulkIssuance) -> int | None:
    """When the first lease another lane holds runs out (None: no part is held)."""
    ends = [claim.until_ms for claim in issuance.part_claims.values()]
    return min(ends) if ends else None


def all_done(issuance: BulkIssuance, rows: int) -> bool:
    parts = count(issuance.requested_count, rows)
    return all(str(n) in issuance.csv_parts for n in range(1, parts + 1))
