"""A deactivate whose job was lost (Redis restarted empty) is finished by the sweeper."""

from bson import ObjectId

from tests.fixtures.waiting import wait_until

SWEEPY = {"STALE_TASK_SECONDS": "1", "SWEEP_INTERVAL_SECONDS": "1", "STATUS_CHANGE_CHUNK_SIZE": "5"}


def _lose_job(redis_server, queue: str, job_id: str) -> None:
    """What Redis restarted without its data leaves of a queued job: nothing."""
    client = redis_server.client()
    try:
        assert client.zrem(queue, job_id) == 1
        client.delete(f"arq:job:{job_id}")
    finally:
        client.close()


async def test_sweeper_requeues_a_lost_status_change(deployment, new_tenant, redis_server):
    d = deployment(**SWEEPY)
    api = d.api()
    tenant = await new_tenant("Lost switch", base_url=api.base_url)
    program = await tenant.create_program(name="Lost switch", syncThreshold=5)
    with d.worker():
        queued = await tenant.bulk(program["id"], {"initialValue": 1, "count": 30})
        issued = await tenant.wait_task(queued.json()["taskId"])
    assert issued["status"] == "completed", issued
    issuance_id = issued["bulkIssuanceId"]

    off = await tenant.http.post(f"/v2/giftcards/bulk-issuances/{issuance_id}/deactivate")
    assert off.status_code == 202, off.text
    task_id = off.json()["taskId"]
    _lose_job(redis_server, d.env["QUEUE_NAME"], f"status:{task_id}:0")

    worker = d.worker()
    task = await tenant.wait_task(task_id, timeout=60)
    assert task["status"] == "completed" and task["type"] == "deactivate", task
    assert f"status change {task_id}: step 0 re-queued (recovery 1)" in worker.log_text()
    cards = await tenant.cards(program["id"], bulkIssuanceId=issuance_id)
    assert [c["status"] for c in cards] == ["inactive"] * 30


async def test_a_change_that_never_claimed_its_batch_switches_nothing(deployment, new_tenant, db):
    """A change stored by a request that died before claiming the batch: the sweeper runs
    it, and its job refuses to touch the cards (the batch names another change)."""
    d = deployment(**SWEEPY)
    api = d.api()
    tenant = await new_tenant("Orphan switch", base_url=api.base_url)
    program = await tenant.create_program(name="Orphan switch", syncThreshold=5)
    worker = d.worker()
    queued = await tenant.bulk(program["id"], {"initialValue": 1, "count": 12})
    issuance_id = (await tenant.wait_task(queued.json()["taskId"]))["bulkIssuanceId"]
    off = await tenant.http.post(f"/v2/giftcards/bulk-issuances/{issuance_id}/deactivate")
    assert off.status_code == 202, off.text
    assert (await tenant.wait_task(off.json()["taskId"], timeout=60))["status"] == "completed"

    claimed = db.status_changes.find_one({"_id": ObjectId(off.json()["taskId"])})
    orphan = {
        **claimed,
        "_id": ObjectId(),
        "task_type": "activate",
        "status": "pending",
        "done_seq": 0,
        "step": 0,
        "current_job": None,
        "heartbeat_ms": 0,
    }
    db.status_changes.insert_one(orphan)

    async def failed():
        task = (await tenant.http.get(f"/v2/giftcards/tasks/{orphan['_id']}")).json()
        return task if task["status"] == "failed" else None

    task = await wait_until(failed, timeout=60, message="the orphan change failed")
    assert "superseded" in task["error"]
    cards = await tenant.cards(program["id"], bulkIssuanceId=issuance_id)
    assert [c["status"] for c in cards] == ["inactive"] * 12
    assert worker.alive()
