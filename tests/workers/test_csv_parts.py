"""A CSV of several multipart parts: written while issuing, exact and in order."""

from tests.workers.batch_checks import assert_exact_batch


async def test_a_batch_over_one_part_gives_one_exact_csv(deployment, new_tenant, db):
    d = deployment(CSV_PART_ROWS="64000", BATCH_CHUNK_SIZE="4000")
    api, worker = d.api(), d.worker()
    tenant = await new_tenant("Parts", base_url=api.base_url)
    program = await tenant.create_program(name="P")
    n = 65_000
    task_id = (await tenant.bulk(program["id"], {"initialValue": 1, "count": n})).json()["taskId"]
    task = await tenant.wait_task(task_id, timeout=240)
    rows = await assert_exact_batch(tenant, db, task)
    by_id = {
        str(doc["_id"]): doc["seq"]
        for doc in db.cards.find(
            {"program_id": program["id"], "bulk_issuance_id": task["bulkIssuanceId"]}, {"seq": 1}
        )
    }
    assert [by_id[row["id"]] for row in rows] == list(range(n))  # rows in seq order across parts
    assert "CSV part 1" in worker.log_text() and "CSV part 2" in worker.log_text()
