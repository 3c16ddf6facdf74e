"""A lane's chunk size follows the time its steps take (lanes.next_chunk)."""

from app.domain.issuance.generation import INSERT_BATCH
from app.domain.issuance.lanes import next_chunk

FULL, JOB = 5_000, 30.0


def test_a_step_over_a_quarter_of_a_job_halves_the_next_down_to_one_insert():
    sizes = [FULL]
    for _ in range(6):  # the same slow step, again and again (a retried one)
        sizes.append(next_chunk(sizes[-1], FULL, spent=24.0, job_seconds=JOB))
    assert sizes == [5_000, 2_500, 1_250, 625, 312, INSERT_BATCH, INSERT_BATCH]


def test_quick_steps_grow_back_to_the_setting_and_middling_ones_keep_the_size():
    assert next_chunk(1_250, FULL, spent=1.0, job_seconds=JOB) == 2_500
    assert next_chunk(2_500, FULL, spent=1.0, job_seconds=JOB) == FULL
    assert next_chunk(FULL, FULL, spent=0.1, job_seconds=JOB) == FULL
    assert next_chunk(2_500, FULL, spent=5.0, job_seconds=JOB) == 2_500
