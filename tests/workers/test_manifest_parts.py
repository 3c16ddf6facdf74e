"""A manifest over several S3 parts, written by a chain of jobs: exact, in order, one object."""

from bson import ObjectId
from pymongo import MongoClient

from tests.api.csv_helpers import download_csv
from tests.fixtures.printer import shipping_config
from tests.fixtures.waiting import wait_until

CARDS = 90_000  # about 220 bytes a row: three parts of 6 MiB or more


async def test_a_big_order_gets_one_exact_manifest_from_a_chain_of_jobs(
    deployment, new_tenant, private_mongo
):
    # JOB_TIMEOUT_SECONDS=10: a job hands off once its next part would end past 4 s, and may
    # run 8 s. A part (30,000 rows, 6.3 MiB) takes 1.5 s (nx-27017 alone serves a row in
    # 50 us) to 4 s on this 2-core machine, so no job writes all three.
    # a MongoDB of its own: nx-27017 serves one request at a time, and cutting 90,000 cards
    # holds it for seconds, which would stall the session's other clients
    own = {"MONGODB_URL": private_mongo.url, "MONGODB_DB": "manifest_parts"}
    d = deployment(BATCH_CHUNK_SIZE="5000", JOB_TIMEOUT_SECONDS="10", **own)
    api, worker = d.api(), d.worker()
    tenant = await new_tenant("Manifest parts", base_url=api.base_url, env=own)
    program = await tenant.create_program(name="Plastic")
    made = await tenant.http.post("/v2/giftcards/shipping-configs", json=shipping_config())
    config = made.json()
    body = {"initialValue": "5.00", "count": CARDS, "isPhysical": True}
    looks = {"nameLine1": "BIG ORDER", "numericPostfix": True}
    body |= {"shippingConfigId": config["id"], "cardPersonalization": looks}
    task_id = (await tenant.bulk(program["id"], body)).json()["taskId"]
    task = await tenant.wait_task(task_id, timeout=240)
    assert task["status"] == "completed", task

    fulfilled = await tenant.http.post(f"/v2/giftcards/shipping-configs/{config['id']}/fulfill")
    assert fulfilled.status_code == 202, fulfilled.text
    assert fulfilled.json()["cardCount"] == CARDS
    order_id = fulfilled.json()["fulfillmentOrderId"]

    async def submitted():
        order = (await tenant.http.get(f"/v2/giftcards/fulfillment-orders/{order_id}")).json()
        return order if order["status"] != "PENDING" else None

    order = await wait_until(submitted, timeout=180, message=f"order {order_id} submitted")
    assert order["status"] == "SUBMITTED", order
    assert order["cardCount"] == CARDS

    numbers = {r["id"]: r["cardNumber"] for r in (await download_csv(task["csvDownloadUrl"]))[0]}
    rows, header = await download_csv(order["manifestUrl"])
    assert header[:3] == ["orderId", "cardId", "cardNumber"]
    assert sorted(r["cardId"] for r in rows) == sorted(numbers)  # every card once
    assert all(r["cardNumber"] == numbers[r["cardId"]] for r in rows)
    postfixes = [int(r["nameLine1"].rsplit(" ", 1)[1]) for r in rows]
    assert postfixes == list(range(1, CARDS + 1))  # in seq order, across the parts

    with MongoClient(private_mongo.url) as client:
        stored = client["manifest_parts"].fulfillment_orders.find_one({"_id": ObjectId(order_id)})
    progress = stored["manifest_progress"]
    assert len(progress["etags"]) >= 3 and progress["rows"] == CARDS
    assert ": manifest part " in worker.log_text() and ", handing off" in worker.log_text()
