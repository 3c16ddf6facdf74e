"""Workers are stopped (SIGTERM) mid-batch, or share several batches: each still ends exact.
(SIGKILL mid-batch: test_batch_lanes.py, where three workers share one batch.)"""

import json

from tests.fixtures.waiting import wait_until
from tests.workers.batch_checks import assert_exact_batch, task_of

JOB_TIMEOUT = 5  # arq's lock after a crash: JOB_TIMEOUT + 10 s
FAST = {
    "JOB_TIMEOUT_SECONDS": str(JOB_TIMEOUT),
    "BATCH_CHUNK_SIZE": "500",
    "JOB_RETRY_MAX_DELAY_SECONDS": "2",
}


async def test_sigterm_finishes_the_running_step_and_burns_no_try(deployment, new_tenant, db):
    d = deployment(**{**FAST, "BATCH_CHUNK_SIZE": "2000"})
    api = d.api()
    first = d.worker()
    tenant = await new_tenant("Graceful", base_url=api.base_url)
    program = await tenant.create_program(name="Graceful")
    n = 30_000
    task_id = (await tenant.bulk(program["id"], {"initialValue": 1, "count": n})).json()["taskId"]
    await wait_until(lambda: task_of(tenant, task_id), timeout=30)

    async def running():
        task = await task_of(tenant, task_id)
        return 0 < task["issuedCount"] < n

    await wait_until(running, timeout=60, interval=0.01, message="batch under way")
    first.stop(timeout=JOB_TIMEOUT + 10)
    assert first.returncode() is not None
    assert "cancelled, will be run again" not in first.log_text()
    second = d.worker()
    task = await tenant.wait_task(task_id, timeout=180)
    await assert_exact_batch(tenant, db, task)
    # SIGTERM burned no try: a job run again is one whose step timed out (a slow database
    # does that too), never the one the stop interrupted
    lines = [json.loads(line) for line in (first.log_text() + second.log_text()).splitlines()]
    retried = {line.get("job_id") for line in lines if " try=" in line["message"]}
    timed_out = {line.get("job_id") for line in lines if "step timed out" in line["message"]}
    assert retried <= timed_out, retried - timed_out


async def test_two_apis_three_workers_several_batches(deployment, new_tenant, db):
    d = deployment(BATCH_CHUNK_SIZE="1000")
    apis = [d.api(), d.api()]
    for _ in range(3):
        d.worker()
    tenants = [await new_tenant(f"Scale {i}", base_url=apis[i % 2].base_url) for i in range(2)]
    programs = [await t.create_program(name="Scale") for t in tenants]
    task_ids = []
    for i in range(6):
        tenant, program = tenants[i % 2], programs[i % 2]
        response = await tenant.bulk(program["id"], {"initialValue": 2, "count": 3_000 + i})
        assert response.status_code == 202
        task_ids.append((tenant, response.json()["taskId"]))
    inline = [
        await tenants[i % 2].bulk(programs[i % 2]["id"], {"initialValue": 1, "count": 50})
        for i in range(4)
    ]
    assert all(r.status_code == 201 for r in inline)
    all_numbers = [c["cardNumber"] for r in inline for c in r.json()["cards"]]
    for tenant, task_id in task_ids:
        task = await tenant.wait_task(task_id, timeout=180)
        rows = await assert_exact_batch(tenant, db, task)
        all_numbers += [row["cardNumber"] for row in rows]
    assert len(all_numbers) == len(set(all_numbers)) == 4 * 50 + sum(3_000 + i for i in range(6))
    worked = [w for w in d.workers if "advance_issuance" in w.log_text()]
    assert len(worked) >= 2, "the batches were not spread over the workers"
