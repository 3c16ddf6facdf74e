"""The webhook outbox: every callback and webhook is stored, then sent by the workers from
MongoDB with backoff for a span, so an endpoint that is down for long, or a Redis that
restarts empty, loses no event; a 410 ends the deliveries to that endpoint."""

from tests.fixtures.waiting import wait_until

# a schedule in fractions of a second instead of 30 s doubling to 6 h for 3 days
FAST = {
    "WEBHOOK_RETRY_BASE_SECONDS": "0.2",
    "WEBHOOK_RETRY_MAX_DELAY_SECONDS": "0.5",
    "SWEEP_INTERVAL_SECONDS": "1",
}
OLD_MAX_TRIES = 8  # arq's tries per callback before the outbox: ~2 minutes, then lost


async def _hooked_tenant(deployment_, new_tenant, receiver, path: str, name: str):
    """A deployment's API and worker, a tenant on it and a program calling back `path`."""
    api = deployment_.api()
    deployment_.worker()
    tenant = await new_tenant(name, base_url=api.base_url)
    program = await tenant.create_program(name=name, callbackUrl=receiver.at(path))
    return tenant, program


async def _queued_task(tenant, program_id: str) -> str:
    response = await tenant.bulk(program_id, {"initialValue": 2, "count": 60})
    assert response.status_code == 202, response.text
    task_id = response.json()["taskId"]
    assert (await tenant.wait_task(task_id))["status"] == "completed"
    return task_id


async def _deliveries(tenant, **params) -> list[dict]:
    response = await tenant.http.get("/v2/webhooks/deliveries", params=params)
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def _delivery_in(tenant, event_id: str, state: str, timeout: float = 60) -> dict:
    async def reached():
        found = [d for d in await _deliveries(tenant) if d["eventId"] == event_id]
        return found[0] if found and found[0]["state"] == state else None

    return await wait_until(reached, timeout=timeout, message=f"{event_id} {state}")


async def _task(tenant, task_id: str) -> dict:
    return (await tenant.http.get(f"/v2/giftcards/tasks/{task_id}")).json()


async def test_receiver_down_longer_than_the_old_retries_gets_the_event_once(
    deployment, new_tenant, webhook_receiver
):
    path = "/outbox/long-outage"
    down_for = OLD_MAX_TRIES + 2
    webhook_receiver.fail_at[path] = down_for
    webhook_receiver.fail_status[path] = 503
    tenant, program = await _hooked_tenant(
        deployment(**FAST), new_tenant, webhook_receiver, path, "Long outage"
    )
    task_id = await _queued_task(tenant, program["id"])

    [receipt] = await webhook_receiver.wait_for(path)
    delivery = await _delivery_in(tenant, f"task-{task_id}", "delivered")
    assert delivery["attempts"] == down_for + 1 > OLD_MAX_TRIES
    assert webhook_receiver.attempts_at[path] == down_for + 1
    assert len(webhook_receiver.received(path)) == 1  # one 2xx receipt: exactly once
    assert delivery["lastStatusCode"] == 200 and delivery["lastError"] is None
    assert delivery["deliveredAt"] and delivery["nextAttemptAt"] is None
    event = receipt.json()
    assert event["id"] == f"task-{task_id}" and event["type"] == "bulk_issuance.completed"
    assert event["data"]["issuedCount"] == 60 and event["data"]["csvDownloadUrl"]

    async def task_says_delivered():
        callback = (await _task(tenant, task_id))["callback"]
        return callback if callback["status"] == "delivered" else None

    callback = await wait_until(task_says_delivered, timeout=30, message="task callback state")
    assert callback["attempts"] == down_for + 1 and callback["deliveredAt"]


async def test_redis_restarted_empty_between_the_change_and_the_delivery(
    deployment, new_tenant, webhook_receiver, private_redis
):
    """The fulfillment cut writes its webhooks while no worker runs; Redis then comes back
    empty, losing their jobs: the worker's cron still finds and sends them."""
    path = "/outbox/redis-restart"
    d = deployment(**FAST, REDIS_URL=private_redis.url)
    api = d.api()
    tenant = await new_tenant("Redis restart", base_url=api.base_url)
    program = await tenant.create_program(
        name="Redis restart", callbackUrl=webhook_receiver.at(path)
    )
    order = await tenant.physical_order(program["id"], 5)
    order_id, card_ids = order.order_id, order.card_ids
    assert len(await _deliveries(tenant, state="pending")) == 2  # stored, not yet sent

    private_redis.stop()
    private_redis.start()  # empty: the jobs queued for those deliveries are gone
    d.worker()

    events = [r.json() for r in await webhook_receiver.wait_for(path, count=2)]
    assert sorted(e["type"] for e in events) == [
        "card.fulfillment.updated",
        "fulfillment_order.updated",
    ]
    assert {e["id"] for e in events} == {
        f"{order_id}-1-order",
        f"{order_id}-1-cards-{program['id']}",
    }
    [cards_event] = [e for e in events if e["type"] == "card.fulfillment.updated"]
    assert sorted(cards_event["data"]["cardIds"]) == card_ids
    for event in events:
        await _delivery_in(tenant, event["id"], "delivered")
    assert len(webhook_receiver.received(path)) == 2


async def test_a_410_ends_the_delivery_and_the_others_to_that_endpoint(
    deployment, new_tenant, webhook_receiver
):
    path = "/outbox/gone"
    slow = {**FAST, "WEBHOOK_RETRY_BASE_SECONDS": "3600", "WEBHOOK_RETRY_MAX_DELAY_SECONDS": "3600"}
    tenant, program = await _hooked_tenant(
        deployment(**slow), new_tenant, webhook_receiver, path, "Gone endpoint"
    )
    webhook_receiver.fail_at[path] = 1  # the first event's first attempt fails: retried later
    first = await _queued_task(tenant, program["id"])

    async def first_waits():
        found = [d for d in await _deliveries(tenant, state="pending") if d["attempts"] == 1]
        return found[0] if found else None

    waiting = await wait_until(first_waits, timeout=60, message="first delivery retried later")
    assert waiting["eventId"] == f"task-{first}" and waiting["lastStatusCode"] == 500

    webhook_receiver.fail_at[path] = 1_000
    webhook_receiver.fail_status[path] = 410
    second = await _queued_task(tenant, program["id"])
    gone = await _delivery_in(tenant, f"task-{second}", "failed")
    assert gone["lastStatusCode"] == 410 and gone["attempts"] == 1
    ended = await _delivery_in(tenant, f"task-{first}", "failed")
    assert ended["attempts"] == 1 and "410" in ended["lastError"]  # not attempted again
    assert webhook_receiver.attempts_at[path] == 2

    async def first_task_says_failed():  # a finished task is cached a few seconds
        return (await _task(tenant, first))["callback"]["status"] == "failed"

    await wait_until(first_task_says_failed, timeout=30, message="task callback failed")
    assert await _deliveries(tenant, state="pending") == []


async def test_past_the_retry_span_a_delivery_is_failed(deployment, new_tenant, webhook_receiver):
    path = "/outbox/never-up"
    webhook_receiver.fail_at[path] = 1_000_000
    webhook_receiver.fail_status[path] = 503
    env = {**FAST, "WEBHOOK_RETRY_SPAN_SECONDS": "3"}
    tenant, program = await _hooked_tenant(
        deployment(**env), new_tenant, webhook_receiver, path, "Never up"
    )
    task_id = await _queued_task(tenant, program["id"])

    failed = await _delivery_in(tenant, f"task-{task_id}", "failed")
    assert failed["attempts"] >= 4 and failed["lastStatusCode"] == 503
    assert failed["nextAttemptAt"] is None and failed["deliveredAt"] is None
    assert webhook_receiver.attempts_at[path] == failed["attempts"]
    assert webhook_receiver.received(path) == []

    async def task_says_failed():
        callback = (await _task(tenant, task_id))["callback"]
        return callback if callback["status"] == "failed" else None

    callback = await wait_until(task_says_failed, timeout=30, message="task callback failed")
    assert callback["attempts"] == failed["attempts"] and "503" in callback["lastError"]


async def test_a_batch_that_fails_then_resumes_announces_each_end(
    deployment, new_tenant, webhook_receiver, private_s3
):
    """The outbox row is written before the task's end, also when the batch fails because a
    store is down; a batch resumed after failing announces its new end under a new id."""
    path = "/outbox/resumed"
    private_s3.stop()
    one_try = {"JOB_MAX_TRIES": "1", "MAX_RECOVERIES": "0", "STALE_TASK_SECONDS": "2"}
    d = deployment(**FAST, **one_try, JOB_TIMEOUT_SECONDS="10", S3_ENDPOINT_URL=private_s3.url)
    tenant, program = await _hooked_tenant(d, new_tenant, webhook_receiver, path, "Resumed")
    response = await tenant.bulk(program["id"], {"initialValue": 2, "count": 300})
    assert response.status_code == 202, response.text
    task_id = response.json()["taskId"]
    assert (await tenant.wait_task(task_id))["status"] == "failed"

    [failed] = await webhook_receiver.wait_for(path)
    assert failed.json()["id"] == f"task-{task_id}"
    assert failed.json()["type"] == "bulk_issuance.failed"
    assert failed.json()["data"]["status"] == "failed"

    # the store is back for the worker that takes over (one on the session's S3)
    d.workers[0].kill()
    d.env.pop("S3_ENDPOINT_URL")
    d.worker()

    async def store_back():  # its sweeper writes the failed batch's CSV: the store works
        task = (await tenant.http.get(f"/v2/giftcards/tasks/{task_id}")).json()
        return task["csvDownloadUrl"]

    await wait_until(store_back, timeout=60, message="the failed batch's CSV once S3 is back")
    retry = await tenant.http.post(f"/v2/giftcards/tasks/{task_id}/retry")
    assert retry.status_code == 202, retry.text
    resumed = await tenant.wait_task(task_id, timeout=120)
    assert resumed["status"] == "completed", resumed
    # as long as the resumed run may take: a loaded machine delayed this callback past 60 s
    first, second = await webhook_receiver.wait_for(path, count=2, timeout=120)
    assert first.json()["id"] == failed.json()["id"]
    assert second.json()["id"] == f"task-{task_id}-2"
    assert second.json()["type"] == "bulk_issuance.completed"
    assert second.json()["data"]["issuedCount"] == 300
    await _delivery_in(tenant, f"task-{task_id}", "delivered")
    await _delivery_in(tenant, f"task-{task_id}-2", "delivered")
