"""The printer's event for one box of an order: its cards move, its webhook lists exactly them,
and its batch counts them, each read from the box's seq range (recorded by the cut), not from
every card of the shipping configuration."""

from tests.fixtures.printer import Printer, shipping_config
from tests.fixtures.waiting import wait_until

BOX_SIZE = 2


async def test_one_boxs_event_moves_counts_and_announces_exactly_its_cards(
    deployment, new_tenant, webhook_receiver, stack_env, db
):
    hook = "/hooks/box-event"
    d = deployment(BOX_SIZE=str(BOX_SIZE))
    api, _ = d.api(), d.worker()
    tenant = await new_tenant("Box events", base_url=api.base_url)
    program = await tenant.create_program(name="Boxed", callbackUrl=webhook_receiver.at(hook))
    config = await tenant.http.post("/v2/giftcards/shipping-configs", json=shipping_config())
    config_id = config.json()["id"]
    body = {"initialValue": "10.00", "count": 5, "isPhysical": True, "shippingConfigId": config_id}
    issued = await tenant.bulk(program["id"], body)
    assert issued.status_code == 201, issued.text
    issuance_id = issued.json()["bulkIssuanceId"]
    cut = await tenant.http.post(f"/v2/giftcards/shipping-configs/{config_id}/fulfill")
    assert cut.status_code == 202, cut.text
    order_id = cut.json()["fulfillmentOrderId"]
    order = (await tenant.http.get(f"/v2/giftcards/fulfillment-orders/{order_id}")).json()
    assert order["boxCount"] == 3 and order["cardCount"] == 5

    cards = await tenant.cards(program["id"], bulkIssuanceId=issuance_id)
    in_box = {c["id"]: c["fulfillment"]["box"] for c in cards}
    box_two = sorted(card for card, box in in_box.items() if box == 2)
    assert len(box_two) == BOX_SIZE

    printer = Printer(api.base_url, stack_env["VENDOR_SECRET"])
    shipped = await printer.send(order_id, "SHIPPED", boxNumber=2, trackingNumber="1ZBOX2")
    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["updatedCards"] == 2 and shipped.json()["ignoredCards"] == 0
    again = await printer.send(order_id, "DELIVERED", boxNumber=9)  # no such box
    assert again.json()["updatedCards"] == 0, again.text

    moved = {c["id"]: c["fulfillment"]["status"] for c in
             await tenant.cards(program["id"], bulkIssuanceId=issuance_id)}  # fmt: skip
    assert sorted(c for c, s in moved.items() if s == "SHIPPED") == box_two
    assert sorted(s for s in moved.values()) == ["ORDERED"] * 3 + ["SHIPPED"] * 2
    batch = (await tenant.http.get(f"/v2/giftcards/bulk-issuances/{issuance_id}")).json()
    counts = batch["fulfillment"]["counts"]
    assert (counts["ORDERED"], counts["SHIPPED"]) == (3, 2), batch["fulfillment"]

    def shipped_event():
        found = [d.json() for d in webhook_receiver.received(hook)]
        cards_ = [e for e in found if e["type"] == "card.fulfillment.updated"]
        return [e for e in cards_ if e["data"]["status"] == "SHIPPED"] or None

    [event] = await wait_until(shipped_event, timeout=60, message="the box's card webhook")
    assert sorted(event["data"]["cardIds"]) == box_two
    assert event["data"]["trackingNumber"] == "1ZBOX2"
    # what was read: the box's seqs (2 and 3), through the batch's index
    query = {"moved_cards.order_id": order_id, "moved_cards.status": "SHIPPED"}
    delivery = db.webhook_deliveries.find_one(query)
    assert delivery["moved_cards"]["box_range"] == [program["id"], issuance_id, 2, 4]
