"""Fairness between merchants: a small queued batch is not stuck behind another merchant's big
one. Each step of a batch chain is its own arq job, enqueued behind whatever is queued, and a
worker runs several jobs at once, so the small batch's jobs run beside the big one's."""

import time

from tests.fixtures.waiting import wait_until

BIG = 200_000
SMALL = 51


async def _small_batch_seconds(tenant, program_id: str) -> float:
    started = time.monotonic()
    queued = await tenant.bulk(program_id, {"initialValue": "1.00", "count": SMALL})
    assert queued.status_code == 202, queued.text
    task = await tenant.wait_task(queued.json()["taskId"], timeout=60)
    assert task["status"] == "completed" and task["issuedCount"] == SMALL
    return time.monotonic() - started


async def test_a_small_batch_completes_while_a_big_one_runs(deployment, new_tenant):
    stack = deployment()
    api = stack.api()
    stack.worker()
    big = await new_tenant("Big Box", base_url=api.base_url)
    small = await new_tenant("Corner Shop", base_url=api.base_url)
    big_program = (await big.create_program())["id"]
    small_program = (await small.create_program())["id"]

    alone = await _small_batch_seconds(small, small_program)

    queued = await big.bulk(big_program, {"initialValue": "1.00", "count": BIG})
    assert queued.status_code == 202, queued.text
    big_task = f"/v2/giftcards/tasks/{queued.json()['taskId']}"

    async def big_under_way() -> bool:
        return (await big.http.get(big_task)).json()["issuedCount"] > 0

    await wait_until(big_under_way, timeout=30, message="the big batch issuing")
    during = await _small_batch_seconds(small, small_program)
    big_now = (await big.http.get(big_task)).json()
    assert big_now["status"] == "running", "the big batch ended first: the test proves nothing"
    assert big_now["issuedCount"] < BIG
    print(f"fairness: {SMALL} cards alone {alone:.2f} s, during {BIG:,} cards {during:.2f} s")
    assert during <= 3 * alone + 2, (alone, during)
    for worker in stack.workers:  # not a SIGTERM: it would wait for the big batch's steps
        worker.kill()
