"""A FAILED fulfillment order (the http printer answered 500 until the last try) resubmitted or
cancelled, by the merchant's API and by the operator's CLI."""

import asyncio
import subprocess
import sys
import time

from bson import ObjectId

from scripts.devstack import isolated_env
from tests.api.csv_helpers import download_csv
from tests.fixtures.printer import printer, shipping_config  # noqa: F401 - fixture
from tests.fixtures.waiting import wait_until

ORDERS = "/v2/giftcards/fulfillment-orders"
ALWAYS = 1_000_000  # the printer's 500s: more than any test's tries


def _deployment(deployment, webhook_receiver, path: str):
    """An API and a worker whose http printer is `path` of the receiver, giving up after two
    tries a second apart."""
    d = deployment(
        PRINTER_PROVIDER="http",
        PRINTER_URL=webhook_receiver.at(path),
        PRINTER_MAX_TRIES="2",
        JOB_RETRY_MAX_DELAY_SECONDS="1",
    )
    api, _ = d.api(), d.worker()
    return d, api


async def _physical_cards(tenant, program_id: str, config_id: str, count: int) -> list[dict]:
    body = {"initialValue": "5.00", "count": count, "isPhysical": True}
    issued = await tenant.bulk(program_id, {**body, "shippingConfigId": config_id})
    assert issued.status_code == 201, issued.text
    return issued.json()["cards"]


async def _config(tenant) -> dict:
    made = await tenant.http.post("/v2/giftcards/shipping-configs", json=shipping_config())
    assert made.status_code == 201, made.text
    return made.json()


async def _order_in(tenant, order_id: str, status: str, timeout: float = 60) -> dict:
    async def reached():
        order = (await tenant.http.get(f"{ORDERS}/{order_id}")).json()
        return order if order["status"] == status else None

    return await wait_until(reached, timeout=timeout, message=f"order {order_id} {status}")


async def _failed_order(tenant, config_id: str, receiver, path: str) -> str:
    """Cuts an order while the printer answers 500, and waits for it to be FAILED."""
    receiver.fail_at[path] = ALWAYS
    fulfilled = await tenant.http.post(f"/v2/giftcards/shipping-configs/{config_id}/fulfill")
    assert fulfilled.status_code == 202, fulfilled.text
    order_id = fulfilled.json()["fulfillmentOrderId"]
    order = await _order_in(tenant, order_id, "FAILED")
    assert order["submission"]["status"] == "failed" and order["error"], order
    return order_id


def _cli(env: dict[str, str], cwd, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "orders", *args],
        env=isolated_env(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_a_resubmitted_order_reaches_the_printer_with_each_card_once(
    deployment,
    new_tenant,
    webhook_receiver,
    printer,  # noqa: F811 - fixture
):
    path = "/printer/resubmit"
    _, api = _deployment(deployment, webhook_receiver, path)
    tenant = await new_tenant("Resubmitting", base_url=api.base_url)
    program = await tenant.create_program(name="Plastic")
    config = await _config(tenant)
    cards = await _physical_cards(tenant, program["id"], config["id"], 5)
    order_id = await _failed_order(tenant, config["id"], webhook_receiver, path)
    assert webhook_receiver.received(path) == []
    stranded = await tenant.cards(program["id"], fulfillmentStatus="ORDERED")
    assert {c["fulfillment"]["orderId"] for c in stranded} == {order_id} and len(stranded) == 5

    webhook_receiver.fail_at[path] = 0  # the printer is back
    url = f"{ORDERS}/{order_id}/resubmit"
    answers = await asyncio.gather(*(tenant.http.post(url) for _ in range(3)))
    assert [a.status_code for a in answers] == [202, 202, 202], [a.text for a in answers]
    for answer in answers:
        assert (
            answer.json()["status"] in ("PENDING", "SUBMITTED") and answer.json()["id"] == order_id
        )
    assert any(a.json()["error"] is None for a in answers)

    order = await _order_in(tenant, order_id, "SUBMITTED")
    assert order["resubmits"] == 1  # three concurrent calls, one resubmission
    assert order["cardCount"] == 5 and order["cardsByStatus"] == {"ORDERED": 5}
    assert order["submission"]["status"] == "submitted" and order["error"] is None
    again = await tenant.http.post(url)
    assert again.status_code == 202 and again.json()["status"] == "SUBMITTED"
    assert again.json()["resubmits"] == 1

    (notice,) = await webhook_receiver.wait_for(path)
    assert notice.json()["orderId"] == order_id and notice.json()["cardCount"] == 5
    rows, _ = await download_csv(notice.json()["manifestUrl"])
    assert sorted(r["cardId"] for r in rows) == sorted(c["id"] for c in cards)  # each card once
    assert {r["cardId"]: r["cardNumber"] for r in rows} == {c["id"]: c["cardNumber"] for c in cards}
    ordered = await tenant.cards(program["id"], fulfillmentStatus="ORDERED")
    assert {c["fulfillment"]["orderId"] for c in ordered} == {order_id} and len(ordered) == 5

    shipped = await printer.send(order_id, "SHIPPED", base_url=api.base_url)
    assert shipped.json()["status"] == "applied", shipped.text
    late = await tenant.http.post(url)
    assert late.status_code == 409 and late.json()["code"] == "order_not_failed", late.text
    cancel = await tenant.http.post(f"{ORDERS}/{order_id}/cancel")
    assert cancel.status_code == 409 and cancel.json()["code"] == "order_not_cancellable"


async def test_a_cancelled_order_gives_its_cards_back_to_the_next_cut(
    deployment,
    new_tenant,
    webhook_receiver,
    printer,  # noqa: F811 - fixture
):
    path, hook = "/printer/cancel", "/hooks/cancel"
    _, api = _deployment(deployment, webhook_receiver, path)
    tenant = await new_tenant("Cancelling", base_url=api.base_url)
    rival = await new_tenant("Cancelling rival", base_url=api.base_url)
    program = await tenant.create_program(name="Plastic", callbackUrl=webhook_receiver.at(hook))
    config = await _config(tenant)
    cards = await _physical_cards(tenant, program["id"], config["id"], 4)
    card_ids = sorted(c["id"] for c in cards)
    order_id = await _failed_order(tenant, config["id"], webhook_receiver, path)

    for verb in ("cancel", "resubmit"):
        foreign = await rival.http.post(f"{ORDERS}/{order_id}/{verb}")
        assert foreign.status_code == 404, foreign.text
        assert foreign.json()["code"] == "fulfillment_order_not_found"
        unknown = await tenant.http.post(f"{ORDERS}/{ObjectId()}/{verb}")
        assert unknown.status_code == 404
        assert (await tenant.http.post(f"{ORDERS}/nope/{verb}")).status_code == 422

    keyed = {"Idempotency-Key": f"cancel-{order_id}"}
    cancelled = await tenant.http.post(f"{ORDERS}/{order_id}/cancel", headers=keyed)
    assert cancelled.status_code == 200, cancelled.text
    order = cancelled.json()
    assert order["status"] == "CANCELLED" and order["cancelledAt"]
    assert order["cardCount"] == 4 and order["cardsByStatus"] == {}
    replay = await tenant.http.post(f"{ORDERS}/{order_id}/cancel", headers=keyed)
    assert replay.status_code == 200 and replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == order
    again = await tenant.http.post(f"{ORDERS}/{order_id}/cancel")
    assert again.status_code == 200 and again.json()["status"] == "CANCELLED"
    resubmit = await tenant.http.post(f"{ORDERS}/{order_id}/resubmit")
    assert resubmit.status_code == 409 and resubmit.json()["code"] == "order_not_failed"

    waiting = await tenant.cards(program["id"], fulfillmentStatus="CREATED")
    assert sorted(c["id"] for c in waiting) == card_ids
    assert all(c["fulfillment"]["orderId"] is None for c in waiting)
    late = await printer.send(order_id, "SHIPPED", base_url=api.base_url, trackingNumber="1Z9")
    assert late.status_code == 200 and late.json()["status"] == "ignored", late.text
    assert late.json()["updatedCards"] == 0
    assert len(await tenant.cards(program["id"], fulfillmentStatus="CREATED")) == 4
    assert (await tenant.http.get(f"{ORDERS}/{order_id}")).json()["status"] == "CANCELLED"

    # the merchant hears of it: the order CANCELLED, exactly its cards CREATED again
    def events(event_type: str) -> list[dict]:
        found = [d.json() for d in webhook_receiver.received(hook)]
        return [e for e in found if e["type"] == event_type]

    def cancel_events():
        statuses = [e["data"]["status"] for e in events("fulfillment_order.updated")]
        created = [
            e for e in events("card.fulfillment.updated") if e["data"]["status"] == "CREATED"
        ]
        return created if "CANCELLED" in statuses and created else None

    (released,) = await wait_until(cancel_events, timeout=60, message="cancel webhooks")
    assert released["data"]["fulfillmentOrderId"] == order_id
    assert sorted(released["data"]["cardIds"]) == card_ids

    webhook_receiver.fail_at[path] = 0
    cut = await tenant.http.post(f"/v2/giftcards/shipping-configs/{config['id']}/fulfill")
    assert cut.status_code == 202, cut.text
    new_id = cut.json()["fulfillmentOrderId"]
    assert new_id != order_id and cut.json()["cardCount"] == 4
    submitted = await _order_in(tenant, new_id, "SUBMITTED")
    rows, _ = await download_csv(submitted["manifestUrl"])
    assert sorted(r["cardId"] for r in rows) == card_ids
    ordered = await tenant.cards(program["id"], fulfillmentStatus="ORDERED")
    assert sorted(c["id"] for c in ordered) == card_ids
    assert {c["fulfillment"]["orderId"] for c in ordered} == {new_id}


async def test_a_pending_order_is_neither_cancelled_nor_resubmitted(deployment, new_tenant):
    d = deployment()  # no worker on its queue: the order stays PENDING
    api = d.api()
    tenant = await new_tenant("Pending order", base_url=api.base_url)
    program = await tenant.create_program(name="Plastic")
    config = await _config(tenant)
    await _physical_cards(tenant, program["id"], config["id"], 2)
    cut = await tenant.http.post(f"/v2/giftcards/shipping-configs/{config['id']}/fulfill")
    order_id = cut.json()["fulfillmentOrderId"]

    cancel = await tenant.http.post(f"{ORDERS}/{order_id}/cancel")
    assert cancel.status_code == 409 and cancel.json()["code"] == "order_not_cancellable"
    resubmit = await tenant.http.post(f"{ORDERS}/{order_id}/resubmit")
    assert resubmit.status_code == 409 and resubmit.json()["code"] == "order_not_failed"
    order = (await tenant.http.get(f"{ORDERS}/{order_id}")).json()
    assert order["status"] == "PENDING" and order["cardsByStatus"] == {"ORDERED": 2}


async def test_a_resubmit_after_a_partial_manifest_writes_it_again_from_the_start(
    deployment, new_tenant, webhook_receiver, db, s3
):
    """A manifest a chain of jobs left half-written: its multipart upload is aborted and the
    manifest is written again whole, not appended to what was there."""
    path = "/printer/partial"
    _, api = _deployment(deployment, webhook_receiver, path)
    tenant = await new_tenant("Partial manifest", base_url=api.base_url)
    program = await tenant.create_program(name="Plastic")
    config = await _config(tenant)
    cards = await _physical_cards(tenant, program["id"], config["id"], 3)
    order_id = await _failed_order(tenant, config["id"], webhook_receiver, path)

    client, key = s3.client(), f"manifests/{tenant.merchant_id}/{order_id}.csv"
    started = client.create_multipart_upload(Bucket=s3.bucket, Key=key, ContentType="text/csv")
    upload_id = started["UploadId"]
    stale = client.upload_part(
        Bucket=s3.bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=b"stale,rows\r\n"
    )
    progress = {
        "upload_id": upload_id,
        "etags": [stale["ETag"]],
        "batch": 1,  # as if every row were in the stale part
        "seq": None,
        "rows": 3,
        "updated_ms": int(time.time() * 1000),
    }
    db.fulfillment_orders.update_one(
        {"_id": ObjectId(order_id)}, {"$set": {"manifest_progress": progress, "manifest_key": None}}
    )

    webhook_receiver.fail_at[path] = 0
    resubmitted = await tenant.http.post(f"{ORDERS}/{order_id}/resubmit")
    assert resubmitted.status_code == 202, resubmitted.text
    order = await _order_in(tenant, order_id, "SUBMITTED")
    rows, header = await download_csv(order["manifestUrl"])
    assert header[:3] == ["orderId", "cardId", "cardNumber"]
    assert sorted(r["cardId"] for r in rows) == sorted(c["id"] for c in cards)
    uploads = client.list_multipart_uploads(Bucket=s3.bucket, Prefix=key).get("Uploads", [])
    assert upload_id not in {u["UploadId"] for u in uploads}


async def test_operators_resubmit_and_cancel_from_the_cli(
    deployment, new_tenant, webhook_receiver, stack_env, tmp_path
):
    path = "/printer/cli"
    d, api = _deployment(deployment, webhook_receiver, path)
    env = {**stack_env, **d.env}  # the deployment's queue: the resubmit's job reaches its worker
    tenant = await new_tenant("Operated", base_url=api.base_url)
    program = await tenant.create_program(name="Plastic")
    first, second = await _config(tenant), await _config(tenant)
    await _physical_cards(tenant, program["id"], first["id"], 2)
    kept = await _physical_cards(tenant, program["id"], second["id"], 3)
    to_resubmit = await _failed_order(tenant, first["id"], webhook_receiver, path)
    to_cancel = await _failed_order(tenant, second["id"], webhook_receiver, path)
    webhook_receiver.fail_at[path] = 0

    done = _cli(env, tmp_path, "resubmit", to_resubmit)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"fulfillment order {to_resubmit}: PENDING (2 cards)" in done.stdout
    await _order_in(tenant, to_resubmit, "SUBMITTED")

    done = _cli(env, tmp_path, "cancel", to_cancel)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"fulfillment order {to_cancel}: CANCELLED (3 cards)" in done.stdout
    waiting = await tenant.cards(program["id"], fulfillmentStatus="CREATED")
    assert sorted(c["id"] for c in waiting) == sorted(c["id"] for c in kept)

    refused = _cli(env, tmp_path, "cancel", to_resubmit)
    assert refused.returncode == 1 and "order_not_cancellable" in refused.stderr
    unknown = _cli(env, tmp_path, "resubmit", str(ObjectId()))
    assert unknown.returncode == 1 and "fulfillment_order_not_found" in unknown.stderr
    assert _cli(env, tmp_path, "cancel", "not-an-id").returncode == 2


async def test_a_cancel_left_uncounted_by_a_crash_still_gives_its_cards_to_the_next_cut(
    deployment,
    new_tenant,
    webhook_receiver,
    db,
):
    """The cancel released the cards, then the process died before counting them (undone here
    in the database): the batch's counts say none waits, yet the next cut settles the
    cancelled order first and takes them (a cut plans from the batches' counts)."""
    path = "/printer/uncounted"
    _, api = _deployment(deployment, webhook_receiver, path)
    tenant = await new_tenant("Uncounted cancel", base_url=api.base_url)
    program = await tenant.create_program(name="Plastic")
    config = await _config(tenant)
    card_ids = sorted(
        c["id"] for c in await _physical_cards(tenant, program["id"], config["id"], 3)
    )
    order_id = await _failed_order(tenant, config["id"], webhook_receiver, path)
    cancelled = await tenant.http.post(f"{ORDERS}/{order_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text

    batch = {"program_id": program["id"]}
    [change] = [
        k for k in db.bulk_issuances.find_one(batch)["fulfillment_tally"] if k != f"{order_id}_1"
    ]
    undo = {"fulfillment_counts.CREATED": -3, "fulfillment_counts.ORDERED": 3}
    db.bulk_issuances.update_one(
        batch, {"$unset": {f"fulfillment_tally.{change}": ""}, "$inc": undo}
    )
    number = change.rsplit("_", 1)[1]
    db.fulfillment_orders.update_one(
        {"_id": ObjectId(order_id)}, {"$unset": {f"tallied.{number}": ""}}
    )

    webhook_receiver.fail_at[path] = 0
    cut = await tenant.http.post(f"/v2/giftcards/shipping-configs/{config['id']}/fulfill")
    assert cut.status_code == 202, cut.text
    assert cut.json()["cardCount"] == 3
    submitted = await _order_in(tenant, cut.json()["fulfillmentOrderId"], "SUBMITTED")
    rows, _ = await download_csv(submitted["manifestUrl"])
    assert sorted(r["cardId"] for r in rows) == card_ids
    counts = db.bulk_issuances.find_one(batch)["fulfillment_counts"]
    assert counts["CREATED"] == -3 and counts["ORDERED"] == 3, counts  # counted once each way
