"""A store goes away during a queued batch: the batch retries with backoff and then completes
exactly, or ends `failed` saying what was down. Each test runs a private store it can stop."""

from pymongo import MongoClient

from app.storage.repositories.filters import of_batch
from tests.fixtures.processes import unreachable_url
from tests.fixtures.waiting import wait_until
from tests.workers.batch_checks import assert_exact_batch

FAST = {"BATCH_CHUNK_SIZE": "500", "JOB_TIMEOUT_SECONDS": "10", "JOB_RETRY_MAX_DELAY_SECONDS": "2"}


async def _queued_batch(new_tenant, api, name: str, n: int, env: dict | None = None):
    """A new tenant on `api` with a program, and the task id of its queued batch of `n` cards."""
    tenant = await new_tenant(name, base_url=api.base_url, env=env)
    program = await tenant.create_program(name=name)
    response = await tenant.bulk(program["id"], {"initialValue": 1, "count": n})
    assert response.status_code == 202, response.text
    return tenant, program, response.json()["taskId"]


async def _under_way(tenant, task_id: str, n: int) -> None:
    async def check():
        task = (await tenant.http.get(f"/v2/giftcards/tasks/{task_id}")).json()
        return 1_000 <= task["issuedCount"] < n

    await wait_until(check, timeout=60, interval=0.01, message="batch under way")


async def test_mongo_outage_mid_batch(deployment, new_tenant, private_mongo):
    mongo = private_mongo
    env = {**FAST, "MONGODB_URL": mongo.url, "MONGODB_DB": "outage_batch"}
    d = deployment(**env)
    api, worker = d.api(), d.worker()
    n = 15_000
    tenant, _, task_id = await _queued_batch(new_tenant, api, "Mongo outage", n, env)
    await _under_way(tenant, task_id, n)
    mongo.stop()
    await wait_until(
        lambda: "database unreachable" in worker.log_text(),
        timeout=60,
        message="the worker saw the outage",
    )
    mongo.start()
    task = await tenant.wait_task(task_id, timeout=180)
    with MongoClient(mongo.url) as client:
        await assert_exact_batch(tenant, client["outage_batch"], task)


async def test_redis_outage_mid_batch(deployment, new_tenant, db, private_redis):
    """Redis stops and comes back empty (no persistence): the worker survives and the batch
    ends exact, whether a job in flight bridged the gap or the sweeper restarted the chain."""
    redis = private_redis
    env = {**FAST, "REDIS_URL": redis.url, "STALE_TASK_SECONDS": "5", "SWEEP_INTERVAL_SECONDS": "2"}
    d = deployment(**env)
    api, worker = d.api(), d.worker()
    n = 30_000
    tenant, _, task_id = await _queued_batch(new_tenant, api, "Redis outage", n)
    await _under_way(tenant, task_id, n)
    redis.stop()
    # arq logs this after its running jobs ended: from here on the chain's next job exists only
    # in the Redis that is about to come back empty
    await wait_until(
        lambda: "worker lost Redis" in worker.log_text(),
        timeout=60,
        message="the worker noticed the outage",
    )
    redis.start()
    task = await tenant.wait_task(task_id, timeout=180)
    await assert_exact_batch(tenant, db, task)
    assert worker.alive(), "the worker must outlive the Redis outage"


async def test_object_store_outage_then_back(deployment, new_tenant, db, private_s3):
    private = private_s3
    endpoint = private.url
    private.stop()
    d = deployment(**FAST, S3_ENDPOINT_URL=endpoint)
    api, _ = d.api(), d.worker()
    n = 3_000
    tenant, _, task_id = await _queued_batch(new_tenant, api, "S3 outage", n)

    async def noticed():
        task = (await tenant.http.get(f"/v2/giftcards/tasks/{task_id}")).json()
        return task if "object store unreachable" in (task["error"] or "") else None

    waiting = await wait_until(noticed, timeout=120, message="the task reports the outage")
    assert waiting["status"] == "running"
    private.start()
    task = await tenant.wait_task(task_id, timeout=180)
    assert task["error"] is None
    await assert_exact_batch(tenant, db, task)


async def test_a_store_that_stays_down_fails_the_task_with_a_reason(deployment, new_tenant, db):
    d = deployment(
        **{
            **FAST,
            "S3_ENDPOINT_URL": unreachable_url("http"),
            "JOB_MAX_TRIES": "3",
            "JOB_RETRY_MAX_DELAY_SECONDS": "1",
        }
    )
    api, _ = d.api(), d.worker()
    tenant, program, task_id = await _queued_batch(new_tenant, api, "S3 gone", 600)
    task = await tenant.wait_task(task_id, timeout=120)
    assert task["status"] == "failed"
    assert task["error"].startswith("object store unreachable")
    assert task["csvDownloadUrl"] is None and task["completedAt"]
    # the cards that were issued stay issued, once each
    # $eq and $count: a bare equality and count_documents scan every card on nx-27017, long
    # enough on the session's database for the client's monitor to cancel the read
    issued = of_batch(program["id"], task["bulkIssuanceId"])
    assert list(db.cards.aggregate([{"$match": issued}, {"$count": "n"}])) == [{"n": 600}]


async def test_a_lost_queue_is_recovered_by_the_sweeper(deployment, new_tenant, db, redis_server):
    """The queued job vanishes (Redis lost its data, or the API died before queuing): a worker's
    sweeper finds the task without a live job and starts it again."""
    d = deployment(**FAST, STALE_TASK_SECONDS="3", SWEEP_INTERVAL_SECONDS="1")
    api = d.api()
    tenant, _, task_id = await _queued_batch(new_tenant, api, "Lost queue", 700)
    queue = d.env["QUEUE_NAME"]
    with redis_server.client() as redis:
        assert redis.zcard(queue) == 1
        redis.delete(queue)  # the job is gone, its task still says pending
    worker = d.worker()
    task = await tenant.wait_task(task_id, timeout=60)
    await assert_exact_batch(tenant, db, task)
    assert "re-queued (recovery 1)" in worker.log_text()
