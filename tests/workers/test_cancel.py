"""POST /v2/giftcards/tasks/{taskId}/cancel: a running batch stops issuing; the cards it issued
stay valid and are in its CSV; the task ends `cancelled` with honest counts, announced once;
cancel is idempotent, and a cancelled task cannot be retried."""

from tests.api.csv_helpers import download_csv
from tests.fixtures.waiting import wait_until
from tests.workers.batch_checks import task_of


def _cancel_url(task_id: str) -> str:
    return f"/v2/giftcards/tasks/{task_id}/cancel"


async def _with_csv(tenant, task_id: str) -> dict:
    async def written():
        task = await task_of(tenant, task_id)
        return task if task["csvDownloadUrl"] else None

    return await wait_until(written, timeout=90, message="the cancelled batch's CSV")


def _stored(db, task: dict) -> list[dict]:
    match = {"program_id": task["programId"], "bulk_issuance_id": task["bulkIssuanceId"]}
    return list(db.cards.aggregate([{"$match": match}, {"$project": {"seq": 1}}]))


async def test_a_running_batch_cancelled_keeps_its_cards_in_its_csv(
    deployment, new_tenant, db, webhook_receiver
):
    d = deployment(BATCH_CHUNK_SIZE="500", SWEEP_INTERVAL_SECONDS="1")
    api = d.api()
    d.worker()
    tenant = await new_tenant("Cancel running", base_url=api.base_url)
    path = "/cancel/running"
    program = await tenant.create_program(name="Cancel", callbackUrl=webhook_receiver.at(path))
    n = 60_000
    response = await tenant.bulk(program["id"], {"initialValue": 5, "count": n})
    assert response.status_code == 202, response.text
    task_id = response.json()["taskId"]

    async def issuing():
        task = await task_of(tenant, task_id)
        return task if task["issuedCount"] >= 1_000 else None

    await wait_until(issuing, timeout=60, message="the batch issuing")
    cancelled = await tenant.http.post(_cancel_url(task_id))
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"

    task = await _with_csv(tenant, task_id)
    issued = task["issuedCount"]
    assert task["status"] == "cancelled" and 1_000 <= issued < n
    assert task["failedCount"] == n - issued
    stored = _stored(db, task)
    assert len(stored) == issued  # no card landed after the count
    assert sorted(doc["seq"] for doc in stored) == list(range(issued))
    rows, _ = await download_csv(task["csvDownloadUrl"])
    assert {row["id"] for row in rows} == {str(doc["_id"]) for doc in stored}
    card = await tenant.http.get(f"/v2/giftcards/programs/{program['id']}/cards/{rows[-1]['id']}")
    assert card.status_code == 200 and card.json()["status"] == "active"

    again = await tenant.http.post(_cancel_url(task_id))  # idempotent
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "cancelled" and again.json()["issuedCount"] == issued
    retry = await tenant.http.post(f"/v2/giftcards/tasks/{task_id}/retry")
    assert retry.status_code == 409 and retry.json()["code"] == "task_cancelled"

    [event] = await webhook_receiver.wait_for(path)
    assert event.json()["type"] == "bulk_issuance.cancelled"
    assert event.json()["data"]["status"] == "cancelled"
    assert event.json()["data"]["issuedCount"] == issued
    assert len(_stored(db, task)) == issued  # still: nothing issued since


async def test_a_pending_batch_cancelled_issues_nothing_and_finished_ones_refuse(
    deployment, new_tenant, db
):
    d = deployment(SWEEP_INTERVAL_SECONDS="1")
    api = d.api()  # no worker yet: the batch stays pending
    tenant = await new_tenant("Cancel pending", base_url=api.base_url)
    program = await tenant.create_program(name="Cancel pending")
    queued = await tenant.bulk(program["id"], {"initialValue": 5, "count": 80})
    assert queued.status_code == 202, queued.text
    task_id = queued.json()["taskId"]
    cancelled = await tenant.http.post(_cancel_url(task_id))
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"

    d.worker()  # its queued job finds the batch cancelled; the CSV chain writes the header
    task = await _with_csv(tenant, task_id)
    assert (task["issuedCount"], task["failedCount"]) == (0, 80)
    rows, header = await download_csv(task["csvDownloadUrl"])
    assert rows == [] and header[:2] == ["id", "cardNumber"]
    assert _stored(db, task) == []

    other = await tenant.bulk(program["id"], {"initialValue": 5, "count": 60})
    assert other.status_code == 202, other.text
    assert (await tenant.wait_task(other.json()["taskId"]))["status"] == "completed"
    done = await tenant.http.post(_cancel_url(other.json()["taskId"]))
    assert done.status_code == 409 and done.json()["code"] == "task_finished"
    assert (await task_of(tenant, other.json()["taskId"]))["status"] == "completed"
    missing = await tenant.http.post(_cancel_url("0" * 24))
    assert missing.status_code == 404 and missing.json()["code"] == "task_not_found"
