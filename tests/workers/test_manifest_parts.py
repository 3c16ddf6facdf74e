"""A big order, cut box by box in a chain of short jobs and its manifest written over several
S3 parts: exact, in order, one object, every card in one box of at most BOX_SIZE; the printer
then tracks one box on its own. The manifest's rows come from the batch's CSV; written again
part by part (a job per part), from a CSV that does not line up, and from the cards alone (the
CSV gone), it is the same object byte for byte."""

import subprocess
import sys
from collections import Counter

import httpx
from bson import ObjectId
from pymongo import MongoClient

from scripts.devstack import ROOT
from tests.api.csv_helpers import download_csv
from tests.fixtures.printer import Printer, shipping_config
from tests.fixtures.waiting import wait_until

CARDS = 90_000  # about 220 bytes a row: three parts of 6 MiB or more
BOX_SIZE = 1_000
# writes the order's manifest again from the start (argv: order id), one part per call of
# write_manifest (budget 0: each call hands off after its first part, as a job would), and
# prints how many calls it took and how many batches it read from their CSVs
REWRITE = """
import asyncio, sys
from bson import ObjectId
from app.domain.fulfillment.manifest import write_manifest
from app.domain.fulfillment.manifest_csv import csv_plans
from app.lib.settings import get_settings
from app.storage.resources import Resources

async def main():
    res = await Resources.open(get_settings())
    orders = res.db.fulfillment_orders
    unset = {"manifest_progress": None, "manifest_key": None}
    await orders.collection.update_one({"_id": ObjectId(sys.argv[1])}, {"$set": unset})
    calls = 0
    while True:
        order = await orders.get(sys.argv[1])
        config = await res.db.shipping_configs.get(order.shipping_config_id)
        from_csv = len(await csv_plans(res, order, 0)) if calls == 0 else from_csv
        calls += 1
        if (await write_manifest(res, order, config, 0)).whole:
            break
    print(calls, from_csv)

asyncio.run(main())
"""


def _rewrite(env: dict[str, str], order_id: str) -> tuple[int, int]:
    done = subprocess.run(
        [sys.executable, "-c", REWRITE, order_id],
        env={**env, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    calls, from_csv = done.stdout.split()
    return int(calls), int(from_csv)


async def test_a_big_order_is_boxed_and_gets_one_exact_manifest_from_chains_of_jobs(
    deployment, new_tenant, private_mongo, stack_env, s3
):
    # JOB_TIMEOUT_SECONDS=10: a job hands off once its next part would end past 4 s, and may
    # run 8 s. A part (30,000 rows, 6.3 MiB) takes 1.5 s (nx-27017 alone serves a row in
    # 50 us) to 4 s on this 2-core machine, so no job writes all three.
    # a MongoDB of its own: nx-27017 serves one request at a time, and cutting 90,000 cards
    # holds it for seconds, which would stall the session's other clients
    own = {"MONGODB_URL": private_mongo.url, "MONGODB_DB": "manifest_parts"}
    # CUT_REQUEST_SECONDS=0: the request claims one box, the order's jobs the 89 others
    boxes = {"BOX_SIZE": str(BOX_SIZE), "CUT_REQUEST_SECONDS": "0"}
    d = deployment(BATCH_CHUNK_SIZE="5000", JOB_TIMEOUT_SECONDS="10", **own, **boxes)
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
    assert fulfilled.json()["cardCount"] == BOX_SIZE  # the first box; the rest in jobs
    order_id = fulfilled.json()["fulfillmentOrderId"]
    order_url = f"/v2/giftcards/fulfillment-orders/{order_id}"

    async def submitted():
        order = (await tenant.http.get(order_url)).json()
        return order if order["status"] != "PENDING" else None

    order = await wait_until(submitted, timeout=180, message=f"order {order_id} submitted")
    assert order["status"] == "SUBMITTED", order
    assert order["cardCount"] == CARDS and not order["cutting"]
    assert order["boxCount"] == CARDS // BOX_SIZE and order["boxes"] == []

    numbers = {r["id"]: r["cardNumber"] for r in (await download_csv(task["csvDownloadUrl"]))[0]}
    rows, header = await download_csv(order["manifestUrl"])
    assert header[:3] == ["orderId", "cardId", "cardNumber"]
    assert sorted(r["cardId"] for r in rows) == sorted(numbers)  # every card once
    assert all(r["cardNumber"] == numbers[r["cardId"]] for r in rows)
    postfixes = [int(r["nameLine1"].rsplit(" ", 1)[1]) for r in rows]
    assert postfixes == list(range(1, CARDS + 1))  # in seq order, across the parts
    per_box = Counter(int(r["boxNumber"]) for r in rows)
    assert per_box == {box: BOX_SIZE for box in range(1, CARDS // BOX_SIZE + 1)}
    in_box = {r["cardId"]: int(r["boxNumber"]) for r in rows}

    # the printer ships box 2 on its own: its cards carry its tracking, the others do not move
    printer = Printer(api.base_url, stack_env["VENDOR_SECRET"])
    shipped = await printer.send(order_id, "SHIPPED", boxNumber=2, carrier="UPS",
                                 trackingNumber="1ZBOX0002")  # fmt: skip
    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["updatedCards"] == BOX_SIZE and shipped.json()["ignoredCards"] == 0
    cards_url = f"/v2/giftcards/programs/{program['id']}/cards"
    boxed = next(card for card, box in in_box.items() if box == 2)
    other = next(card for card, box in in_box.items() if box == 3)
    fulfillment = (await tenant.http.get(f"{cards_url}/{boxed}")).json()["fulfillment"]
    assert fulfillment["status"] == "SHIPPED" and fulfillment["box"] == 2
    assert (fulfillment["carrier"], fulfillment["trackingNumber"]) == ("UPS", "1ZBOX0002")
    fulfillment = (await tenant.http.get(f"{cards_url}/{other}")).json()["fulfillment"]
    assert fulfillment["status"] == "ORDERED" and fulfillment["box"] == 3
    assert fulfillment["trackingNumber"] is None
    order = (await tenant.http.get(order_url)).json()
    assert [(b["boxNumber"], b["status"], b["trackingNumber"]) for b in order["boxes"]] == [
        (2, "SHIPPED", "1ZBOX0002")
    ]
    assert order["status"] == "SHIPPED" and order["trackingNumber"] is None  # the box's own
    assert order["cardsByStatus"] == {"SHIPPED": BOX_SIZE, "ORDERED": CARDS - BOX_SIZE}

    async with httpx.AsyncClient() as client:
        manifest = (await client.get(order["manifestUrl"])).content
    assert "rows of 1 batches from their CSVs" in worker.log_text()
    assert " boxes so far, handing off" in worker.log_text()  # the cut, in short jobs

    # written again, a part per job, with the batch's CSV: the same object
    calls, from_csv = _rewrite(api.env, order_id)
    assert from_csv == 1
    with MongoClient(private_mongo.url) as client:
        stored = client["manifest_parts"].fulfillment_orders.find_one({"_id": ObjectId(order_id)})
        issuance = client["manifest_parts"].bulk_issuances.find_one({"task_id": task_id})
    progress = stored["manifest_progress"]
    assert calls >= len(progress["etags"]) >= 3 and progress["rows"] == CARDS  # a part a call

    async def rewritten() -> bytes:
        async with httpx.AsyncClient() as client:
            return (await client.get(order["manifestUrl"])).content

    assert await rewritten() == manifest
    # from a CSV one row short in the middle: the reads after it do not line up, and come
    # from the cards
    store, key = s3.client(), issuance["csv_key"]
    lines = store.get_object(Bucket=s3.bucket, Key=key)["Body"].read().split(b"\r\n")
    del lines[1 + CARDS // 2]
    store.put_object(Bucket=s3.bucket, Key=key, Body=b"\r\n".join(lines))
    assert _rewrite(api.env, order_id)[1] == 1
    assert await rewritten() == manifest
    # the CSV gone (the exports' retention): every row from the cards
    store.delete_object(Bucket=s3.bucket, Key=key)
    assert _rewrite(api.env, order_id)[1] == 0
    assert await rewritten() == manifest
