"""One batch spread over several workers (issuance/parts.py): with three workers running, the
ones running its lanes (the main chain and a helper) die (SIGKILL) mid-part, and the batch
still ends with exactly N cards and one N-row CSV."""

import json
import time

from tests.fixtures.waiting import wait_until
from tests.workers.batch_checks import assert_exact_batch, task_of

ROWS = 64_000  # the smallest CSV part S3 takes (5 MiB): three parts, the last one short
LANES = {
    "JOB_TIMEOUT_SECONDS": "5",  # arq's lock after a crash: 15 s; a part's lease: 5 s
    "BATCH_CHUNK_SIZE": "2000",
    "JOB_RETRY_MAX_DELAY_SECONDS": "2",
    "CSV_PART_ROWS": str(ROWS),
    "BATCH_MAX_WORKERS": "3",
}


def _lanes_of(worker) -> set[str]:
    """The lanes this worker ran steps of (its log lines say which)."""
    messages = [json.loads(line)["message"] for line in worker.log_text().splitlines()]
    return {m.rsplit("lane ", 1)[1].rstrip(")") for m in messages if "new, lane " in m}


async def test_sigkill_of_workers_sharing_one_batch_keeps_it_exact(deployment, new_tenant, db):
    d = deployment(**LANES)
    api = d.api()
    workers = [d.worker() for _ in range(3)]
    tenant = await new_tenant("Lanes", base_url=api.base_url)
    program = await tenant.create_program(name="Lanes")
    n = 2 * ROWS + 6_000
    response = await tenant.bulk(program["id"], {"initialValue": 1, "count": n})
    task_id = response.json()["taskId"]

    def helping():  # a helper lane issues cards of part 2 or 3 beside the main chain
        return [w for w in workers if any(lane.startswith("h") for lane in _lanes_of(w))]

    await wait_until(helping, timeout=240, interval=0.05, message="a helper lane at work")
    busy = [w for w in workers if _lanes_of(w)]  # every worker that ran a lane, killed
    for worker in busy:
        worker.kill()
    killed_at = time.monotonic()
    at_kill = (await task_of(tenant, task_id))["issuedCount"]
    assert at_kill < n
    d.worker()  # the survivors and a fresh worker take the lanes over

    async def moved_on():
        task = await task_of(tenant, task_id)
        return task["issuedCount"] > at_kill or task["status"] == "completed"

    await wait_until(moved_on, timeout=90, interval=0.1, message="progress after the crash")
    recovery = time.monotonic() - killed_at
    print(f"\nrecovery delay after SIGKILL: {recovery:.1f}s (arq's lock 15 s)")
    assert recovery <= 15 + 10
    task = await tenant.wait_task(task_id, timeout=240)
    rows = await assert_exact_batch(tenant, db, task)
    issuance = db.bulk_issuances.find_one({"task_id": task_id})
    assert sorted(issuance["csv_parts"]) == ["1", "2", "3"]
    assert issuance["part_claims"] == {}
    query = {"program_id": program["id"], "bulk_issuance_id": task["bulkIssuanceId"]}
    seqs = {str(doc["_id"]): doc["seq"] for doc in db.cards.find(query, {"seq": 1})}
    assert [seqs[row["id"]] for row in rows] == list(range(n))  # in seq order across parts
