"""`fulfillment` on a physical bulk issuance (NymCard: the bulk issuance's fulfillment status):
counts per card status and the least advanced one, kept current by the fulfillment steps."""

from bson import ObjectId

from tests.fixtures.printer import printer, shipping_config  # noqa: F401 - fixture
from tests.fixtures.waiting import wait_until

ZERO = {s: 0 for s in ("CREATED", "ORDERED", "SHIPPED", "DELIVERED", "RETURNED", "REJECTED")}


def _summary(status: str, **counts: int) -> dict:
    return {"status": status, "counts": {**ZERO, **counts}}


async def _batch(tenant, issuance_id: str) -> dict:
    response = await tenant.http.get(f"/v2/giftcards/bulk-issuances/{issuance_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def _fulfillment(tenant, issuance_id: str) -> dict:
    return (await _batch(tenant, issuance_id))["fulfillment"]


async def _ids(tenant, program_id: str, issuance_id: str) -> list[str]:
    return sorted(c["id"] for c in await tenant.cards(program_id, bulkIssuanceId=issuance_id))


async def test_batch_fulfillment_follows_its_cards_across_one_order(tenant, printer):  # noqa: F811
    program = await tenant.create_program(name="Summary", syncThreshold=3)
    config = await tenant.http.post("/v2/giftcards/shipping-configs", json=shipping_config())
    assert config.status_code == 201, config.text
    physical = {
        "initialValue": "10.00",
        "isPhysical": True,
        "shippingConfigId": config.json()["id"],
    }

    inline = await tenant.bulk(program["id"], {**physical, "count": 3})
    assert inline.status_code == 201, inline.text
    first = inline.json()["bulkIssuanceId"]
    queued = await tenant.bulk(program["id"], {**physical, "count": 4})
    assert queued.status_code == 202, queued.text
    task = await tenant.wait_task(queued.json()["taskId"])
    second = task["bulkIssuanceId"]
    digital = await tenant.bulk(program["id"], {"initialValue": "5.00", "count": 1})

    assert await _fulfillment(tenant, first) == _summary("CREATED", CREATED=3)
    assert task["fulfillment"] == _summary("CREATED", CREATED=4)
    assert await _fulfillment(tenant, digital.json()["bulkIssuanceId"]) is None

    # one order cuts the waiting cards of both batches
    cut = await tenant.http.post(f"/v2/giftcards/shipping-configs/{config.json()['id']}/fulfill")
    assert cut.status_code == 202 and cut.json()["cardCount"] == 7, cut.text
    order_id = cut.json()["fulfillmentOrderId"]
    assert await _fulfillment(tenant, first) == _summary("ORDERED", ORDERED=3)
    assert await _fulfillment(tenant, second) == _summary("ORDERED", ORDERED=4)

    async def submitted():
        order = await tenant.http.get(f"/v2/giftcards/fulfillment-orders/{order_id}")
        return order.json()["status"] == "SUBMITTED"

    await wait_until(submitted, timeout=60, message="order submitted")
    firsts, seconds = (
        await _ids(tenant, program["id"], first),
        await _ids(tenant, program["id"], second),
    )

    # part of it ships: one card of the first batch, two of the second
    event = {"cardIds": [firsts[0], *seconds[:2]], "carrier": "UPS", "trackingNumber": "1Z1"}
    shipped = await printer.send(order_id, "SHIPPED", event_id=f"{order_id}-ship", **event)
    assert shipped.json()["updatedCards"] == 3, shipped.text
    assert await _fulfillment(tenant, first) == _summary("ORDERED", ORDERED=2, SHIPPED=1)
    assert await _fulfillment(tenant, second) == _summary("ORDERED", ORDERED=2, SHIPPED=2)

    # the same event again is a duplicate: the counts stay
    again = await printer.send(order_id, "SHIPPED", event_id=f"{order_id}-ship", **event)
    assert again.status_code == 200 and again.json()["status"] == "duplicate", again.text
    assert await _fulfillment(tenant, first) == _summary("ORDERED", ORDERED=2, SHIPPED=1)

    # the rest of the first batch is delivered straight from ORDERED, then the whole order
    delivered = await printer.send(order_id, "DELIVERED", cardIds=firsts[1:])
    assert delivered.json()["updatedCards"] == 2, delivered.text
    assert await _fulfillment(tenant, first) == _summary("SHIPPED", SHIPPED=1, DELIVERED=2)
    rejected = await printer.send(order_id, "REJECTED", cardIds=[seconds[3]])
    assert rejected.json()["updatedCards"] == 1, rejected.text
    everything = await printer.send(order_id, "DELIVERED")
    assert everything.json()["updatedCards"] == 4, everything.text

    assert await _fulfillment(tenant, first) == _summary("DELIVERED", DELIVERED=3)
    assert await _fulfillment(tenant, second) == _summary("DELIVERED", DELIVERED=3, REJECTED=1)
    listed = await tenant.http.get(f"/v2/giftcards/programs/{program['id']}/cards/bulk")
    by_id = {b["id"]: b["fulfillment"] for b in listed.json()["data"]}
    assert by_id[first] == _summary("DELIVERED", DELIVERED=3)
    polled = await tenant.http.get(f"/v2/giftcards/tasks/{queued.json()['taskId']}")
    assert polled.json()["fulfillment"] == _summary("DELIVERED", DELIVERED=3, REJECTED=1)


async def test_a_change_left_uncounted_by_a_crash_is_counted_by_the_next_event(
    tenant,
    printer,  # noqa: F811
    db,
):
    """The printer's SHIPPED moved the cards, then the process died before counting them
    (undone here in the database): the next event of the order counts it once."""
    program = await tenant.create_program(name="Repair")
    config = await tenant.http.post("/v2/giftcards/shipping-configs", json=shipping_config())
    body = {"initialValue": "10.00", "isPhysical": True, "shippingConfigId": config.json()["id"]}
    issued = await tenant.bulk(program["id"], {**body, "count": 2})
    issuance_id = issued.json()["bulkIssuanceId"]
    cut = await tenant.http.post(f"/v2/giftcards/shipping-configs/{config.json()['id']}/fulfill")
    order_id = cut.json()["fulfillmentOrderId"]
    a, b = sorted(c["id"] for c in issued.json()["cards"])

    shipped = await printer.send(order_id, "SHIPPED", cardIds=[a])
    assert shipped.json()["updatedCards"] == 1, shipped.text
    assert await _fulfillment(tenant, issuance_id) == _summary("ORDERED", ORDERED=1, SHIPPED=1)
    # the crash: the change's count and its mark on the order never happened
    [change] = [
        k
        for k in db.bulk_issuances.find_one({"program_id": program["id"]})["fulfillment_tally"]
        if k != f"{order_id}_1"
    ]
    number = change.rsplit("_", 1)[1]
    db.bulk_issuances.update_one(
        {"program_id": program["id"]},
        {
            "$unset": {f"fulfillment_tally.{change}": ""},
            "$inc": {"fulfillment_counts.SHIPPED": -1, "fulfillment_counts.ORDERED": 1},
        },
    )
    db.fulfillment_orders.update_one(
        {"_id": ObjectId(order_id)}, {"$unset": {f"tallied.{number}": ""}}
    )
    assert await _fulfillment(tenant, issuance_id) == _summary("ORDERED", ORDERED=2)

    delivered = await printer.send(order_id, "DELIVERED", cardIds=[b])
    assert delivered.json()["updatedCards"] == 1, delivered.text
    assert await _fulfillment(tenant, issuance_id) == _summary("SHIPPED", SHIPPED=1, DELIVERED=1)
