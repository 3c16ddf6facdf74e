"""What every queued batch must end with: exactly N unique cards and an N-row CSV."""

from tests.api.csv_helpers import download_csv, luhn_ok


async def task_of(tenant, task_id: str) -> dict:
    return (await tenant.http.get(f"/v2/giftcards/tasks/{task_id}")).json()


async def assert_exact_batch(tenant, db, task: dict) -> list[dict]:
    assert task["status"] == "completed", task
    n = task["requestedCount"]
    assert task["issuedCount"] == n and task["progress"] == 1.0
    issuance_id = task["bulkIssuanceId"]
    stored = list(
        db.cards.aggregate(
            [
                # the cards' index prefix: an unindexed scan would stall nx-27017 for everyone
                {"$match": {"program_id": task["programId"], "bulk_issuance_id": issuance_id}},
                {"$project": {"seq": 1, "number_hash": 1}},
            ]
        )
    )
    assert len(stored) == n, f"{len(stored)} cards stored for {n} requested"
    assert sorted(doc["seq"] for doc in stored) == list(range(n))
    assert len({doc["number_hash"] for doc in stored}) == n
    rows, _ = await download_csv(task["csvDownloadUrl"])
    assert len(rows) == n
    assert len({row["cardNumber"] for row in rows}) == n
    assert len({row["id"] for row in rows}) == n
    assert {row["id"] for row in rows} == {str(doc["_id"]) for doc in stored}
    assert all(luhn_ok(row["cardNumber"]) for row in rows)
    return rows
