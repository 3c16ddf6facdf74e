"""A queued batch that fails part-way keeps what it issued: honest counts and a CSV of exactly
its cards. POST /v2/giftcards/tasks/{taskId}/retry resumes it to its requested count, never
issuing a card twice; a stuck task is queued again; a live or completed one is left alone."""

import asyncio
import secrets
from contextlib import contextmanager

from bson import ObjectId

from app.domain.issuance.generation import INSERT_BATCH
from tests.api.csv_helpers import download_csv
from tests.fixtures.waiting import wait_until
from tests.workers.batch_checks import assert_exact_batch

# One try per job and no recovery: the first fault fails the batch, and the sweeper re-queues
# a failed batch's CSV within seconds.
FAIL_FAST = {
    "BATCH_CHUNK_SIZE": "250",
    "JOB_TIMEOUT_SECONDS": "10",
    "JOB_MAX_TRIES": "1",
    "JOB_RETRY_MAX_DELAY_SECONDS": "1",
    "MAX_RECOVERIES": "0",
    "STALE_TASK_SECONDS": "2",
    "SWEEP_INTERVAL_SECONDS": "1",
}
BLOCKER = {"program_id": "blocker", "bulk_issuance_id": "blocker", "number_hash": "blocker"}


@contextmanager
def _database_of_its_own(mongo, name: str):
    """The deployment's own database, so the fault below touches no other test's cards."""
    client = mongo.client()
    try:
        yield client[f"{name}_{secrets.token_hex(3)}"]
    finally:
        client.close()


def _block_seq(db, seq: int) -> None:
    """A fault the test controls, in the database itself: a unique index on `seq` alone and a
    document holding `seq`, so the batch can never write its card `seq`, while the rest of
    that card's chunk goes in (an unordered insert): the batch fails part-way, with a gap."""
    db.cards.create_index("seq", unique=True)
    db.cards.insert_one({**BLOCKER, "seq": seq})


def _unblock(db) -> None:
    db.cards.delete_many(BLOCKER)


async def _task(tenant, task_id: str) -> dict:
    response = await tenant.http.get(f"/v2/giftcards/tasks/{task_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def _queued(tenant, program: dict, n: int) -> str:
    response = await tenant.bulk(program["id"], {"initialValue": 5, "count": n})
    assert response.status_code == 202, response.text
    return response.json()["taskId"]


async def _with_csv(tenant, task_id: str) -> dict:
    async def check():
        task = await _task(tenant, task_id)
        return task if task["csvDownloadUrl"] else None

    return await wait_until(check, timeout=60, message="a CSV link")


def _stored(db, task: dict) -> dict[str, dict]:
    """The batch's cards in the database, by id (through the cards' index prefix)."""
    match = {"program_id": task["programId"], "bulk_issuance_id": task["bulkIssuanceId"]}
    found = db.cards.aggregate([{"$match": match}, {"$project": {"seq": 1, "number_enc": 1}}])
    return {str(doc["_id"]): doc for doc in found}


async def _assert_csv_of(url: str, stored: dict[str, dict], vault) -> dict[str, str]:
    """The CSV holds exactly the stored cards, once each, with their real numbers."""
    rows, _ = await download_csv(url)
    numbers = {row["id"]: row["cardNumber"] for row in rows}
    assert len(rows) == len(numbers) == len(stored)
    assert numbers.keys() == stored.keys()
    for card_id, doc in stored.items():
        assert vault.decrypt(doc["number_enc"], card_id) == numbers[card_id]
    return numbers


async def test_a_failed_batch_keeps_its_cards_and_resumes_to_its_count(
    deployment, new_tenant, mongo, vault
):
    with _database_of_its_own(mongo, "failed_batch") as db:
        env = {**FAIL_FAST, "MONGODB_DB": db.name}
        d = deployment(**env)
        api, _ = d.api(), d.worker()
        tenant = await new_tenant("Failed batch", base_url=api.base_url, env=env)
        rival = await new_tenant("Failed batch rival", base_url=api.base_url, env=env)
        program = await tenant.create_program(name="Failed batch")
        n, blocked = 6_000, 2_600  # chunks of 250: the chunk [2500, 2750) is cut short
        _block_seq(db, blocked)
        task_id = await _queued(tenant, program, n)

        failed = await tenant.wait_task(task_id, timeout=120)
        assert failed["status"] == "failed" and "RuntimeError" in failed["error"], failed
        stored = _stored(db, failed)
        seqs = sorted(doc["seq"] for doc in stored.values())
        assert seqs == [*range(blocked), *range(blocked + 1, 2_750)]
        assert (failed["issuedCount"], failed["failedCount"]) == (len(stored), n - len(stored))
        failed = await _with_csv(tenant, task_id)
        assert failed["status"] == "failed"
        partial = await _assert_csv_of(failed["csvDownloadUrl"], stored, vault)
        issuance = await tenant.http.get(f"/v2/giftcards/bulk-issuances/{failed['bulkIssuanceId']}")
        assert issuance.json()["issuedCount"] == len(stored)
        assert issuance.json()["csvDownloadUrl"]

        # the fault is repaired; two retries at once: one resumes the batch, one finds it going
        _unblock(db)
        url = f"/v2/giftcards/tasks/{task_id}/retry"
        retries = await asyncio.gather(tenant.http.post(url), tenant.http.post(url))
        for retry in retries:
            assert retry.status_code == 202, retry.text
            assert retry.headers["location"] == f"/v2/giftcards/tasks/{task_id}"
            assert retry.json()["status"] in ("running", "completed")
            assert retry.json()["error"] is None and retry.json()["failedCount"] == 0
        assert (await _task(tenant, task_id))["status"] != "failed"  # not a cached failed task
        assert api.log_text().count(f"bulk issuance {failed['bulkIssuanceId']} resumed") == 1

        done = await tenant.wait_task(task_id, timeout=120)
        assert done["failedCount"] == 0
        rows = await assert_exact_batch(tenant, db, done)
        final = {row["id"]: row["cardNumber"] for row in rows}
        assert all(final[card_id] == number for card_id, number in partial.items())
        assert done["csvDownloadUrl"].split("?")[0] != failed["csvDownloadUrl"].split("?")[0]

        again = await tenant.http.post(url)
        assert again.status_code == 200, again.text
        assert {**again.json(), "csvDownloadUrl": None} == {**done, "csvDownloadUrl": None}
        assert len(_stored(db, done)) == n
        unknown = f"/v2/giftcards/tasks/{ObjectId()}/retry"
        for refused in (await rival.http.post(url), await tenant.http.post(unknown)):
            assert refused.status_code == 404, refused.text
            assert refused.json()["code"] == "task_not_found"


async def test_a_failed_batch_past_a_csv_part(deployment, new_tenant, mongo, vault):
    """The batch fails past its first CSV part (64,000 rows): the failed batch's CSV is that
    part (as written while issuing, when one job issued all of it; else read back) and one
    more with the rest; the resumed run's CSV is whole."""
    with _database_of_its_own(mongo, "failed_parts") as db:
        env = {
            **FAIL_FAST,
            "MONGODB_DB": db.name,
            "BATCH_CHUNK_SIZE": "2000",
            "CSV_PART_ROWS": "64000",
            "JOB_TIMEOUT_SECONDS": "30",  # one job likely issues the whole first part
        }
        d = deployment(**env)
        api, _ = d.api(), d.worker()
        tenant = await new_tenant("Failed parts", base_url=api.base_url, env=env)
        program = await tenant.create_program(name="Failed parts")
        n, blocked = 70_000, 66_000
        _block_seq(db, blocked)
        task_id = await _queued(tenant, program, n)

        failed = await tenant.wait_task(task_id, timeout=180)
        assert failed["status"] == "failed", failed
        stored = _stored(db, failed)
        # the chunk stops at the write (INSERT_BATCH cards) that holds the blocked seq
        assert len(stored) == (blocked // INSERT_BATCH + 1) * INSERT_BATCH - 1
        assert (failed["issuedCount"], failed["failedCount"]) == (len(stored), n - len(stored))
        failed = await _with_csv(tenant, task_id)
        await _assert_csv_of(failed["csvDownloadUrl"], stored, vault)

        _unblock(db)
        retry = await tenant.http.post(f"/v2/giftcards/tasks/{task_id}/retry")
        assert retry.status_code == 202, retry.text
        done = await tenant.wait_task(task_id, timeout=240)
        await assert_exact_batch(tenant, db, done)


async def test_the_csv_of_a_failed_batch_waits_for_the_object_store(
    deployment, new_tenant, db, vault, private_s3
):
    """S3 is down when the batch fails: the task offers no CSV link until one exists, and
    the sweeper keeps the CSV coming until S3 is back."""
    private_s3.stop()
    d = deployment(**FAIL_FAST, S3_ENDPOINT_URL=private_s3.url)
    api, worker = d.api(), d.worker()
    tenant = await new_tenant("Failed CSV", base_url=api.base_url)
    program = await tenant.create_program(name="Failed CSV")
    task_id = await _queued(tenant, program, 600)

    failed = await tenant.wait_task(task_id, timeout=120)
    assert failed["status"] == "failed"
    assert failed["error"].startswith("object store unreachable"), failed
    assert failed["issuedCount"] == 600 and failed["failedCount"] == 0
    await wait_until(
        lambda: worker.log_text().count("CSV of its cards re-queued") >= 2,
        timeout=60,
        message="the sweeper re-queued the CSV",
    )
    assert (await _task(tenant, task_id))["csvDownloadUrl"] is None

    private_s3.start()
    failed = await _with_csv(tenant, task_id)
    assert failed["status"] == "failed"
    await _assert_csv_of(failed["csvDownloadUrl"], _stored(db, failed), vault)


async def test_retry_requeues_a_stuck_task_and_leaves_a_live_one(
    deployment, new_tenant, db, redis_server
):
    d = deployment(**FAIL_FAST)
    api = d.api()  # no worker yet: the job waits in the queue
    tenant = await new_tenant("Stuck batch", base_url=api.base_url)
    program = await tenant.create_program(name="Stuck batch")
    task_id = await _queued(tenant, program, 700)
    url = f"/v2/giftcards/tasks/{task_id}/retry"
    queue = d.env["QUEUE_NAME"]

    with redis_server.client() as redis:
        live = await tenant.http.post(url)
        assert live.status_code == 202 and live.json()["status"] == "pending"
        assert redis.zcard(queue) == 1  # no second job
        redis.delete(queue)  # the job is lost: the task is stuck once its heartbeat is old

        async def requeued():
            answer = await tenant.http.post(url)
            assert answer.status_code == 202, answer.text
            return redis.zcard(queue) == 1

        await wait_until(requeued, timeout=30, interval=0.5, message="re-queued on retry")
        assert redis.zcard(queue) == 1
    assert "re-queued (recovery 1)" in api.log_text()
    d.worker()
    task = await tenant.wait_task(task_id, timeout=60)
    await assert_exact_batch(tenant, db, task)
