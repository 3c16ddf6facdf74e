"""Individual fulfillment (NymCard's first case, Marqeta's per-user addresses): a recipient's own
`shipping` ships that card on its own; the others share the configuration's parcel."""

import copy

from tests.api.csv_helpers import download_csv
from tests.fixtures.printer import SHIPPING, printer, shipping_config  # noqa: F401 - fixture
from tests.fixtures.waiting import wait_until


def _own(first: str, line1: str, city: str, country: str = "US", **extra) -> dict:
    shipping = copy.deepcopy(SHIPPING)
    shipping.pop("businessName"), shipping.pop("careOfLine")
    shipping["recipientName"] = {"firstName": first, "lastName": "Doe"}
    shipping["address"] = {
        "line1": line1,
        "city": city,
        "state": "CA",
        "postalCode": "94611",
        "countryCode": country,
    }
    return {**shipping, "method": "STANDARD", "expedited": False, **extra}


async def _config(tenant) -> dict:
    response = await tenant.http.post("/v2/giftcards/shipping-configs", json=shipping_config())
    assert response.status_code == 201, response.text
    return response.json()


async def _card(tenant, program_id: str, card_id: str) -> dict:
    response = await tenant.http.get(f"/v2/giftcards/programs/{program_id}/cards/{card_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def _order_in(tenant, order_id: str, status: str) -> dict:
    async def reached():
        order = (await tenant.http.get(f"/v2/giftcards/fulfillment-orders/{order_id}")).json()
        return order if order["status"] == status else None

    return await wait_until(reached, timeout=60, message=f"order {order_id} {status}")


def _card_events(receiver, path: str, status: str) -> list[dict]:
    events = [d.json() for d in receiver.received(path)]
    return [
        e["data"]
        for e in events
        if e["type"] == "card.fulfillment.updated" and e["data"]["status"] == status
    ]


async def test_each_card_with_its_own_address_is_its_own_shipment(
    tenant,
    printer,  # noqa: F811
    webhook_receiver,
):
    hook = "/fx/individual"
    program = await tenant.create_program(name="Own", callbackUrl=webhook_receiver.at(hook))
    config = await _config(tenant)
    saki = _own("Saki", "1255 Lake Street", "Oakland")
    lee = _own("Lee", "9 Elm Road", "Berkeley", phone="+15103333333")
    body = {
        "initialValue": "10.00",
        "isPhysical": True,
        "shippingConfigId": config["id"],
        "recipients": [
            {"customerName": "Saki Doe", "shipping": saki},
            {"customerName": "Lee Doe", "shipping": lee},
            {"customerName": "Store stock"},
        ],
    }
    issued = await tenant.bulk(program["id"], body)
    assert issued.status_code == 201, issued.text
    a, b, c = (card["id"] for card in issued.json()["cards"])

    # the card shows its own address; a card without one ships with the configuration
    card_a = await _card(tenant, program["id"], a)
    assert card_a["recipient"]["shipping"]["address"]["line1"] == "1255 Lake Street"
    assert card_a["recipient"]["shipping"]["recipientName"]["firstName"] == "Saki"
    assert card_a["shippingConfigId"] == config["id"]
    assert (await _card(tenant, program["id"], c))["recipient"]["shipping"] is None

    fulfilled = await tenant.http.post(f"/v2/giftcards/shipping-configs/{config['id']}/fulfill")
    assert fulfilled.status_code == 202, fulfilled.text
    order_id = fulfilled.json()["fulfillmentOrderId"]
    order = await _order_in(tenant, order_id, "SUBMITTED")

    rows, header = await download_csv(order["manifestUrl"])
    assert "shipmentId" in header
    by_card = {row["cardId"]: row for row in rows}
    assert set(by_card) == {a, b, c}
    assert (by_card[a]["addressLine1"], by_card[a]["city"]) == ("1255 Lake Street", "Oakland")
    assert (by_card[a]["recipientFirstName"], by_card[a]["shippingMethod"]) == ("Saki", "STANDARD")
    assert by_card[a]["businessName"] == "" and by_card[a]["expedited"] == "false"
    assert (by_card[b]["addressLine1"], by_card[b]["phone"]) == ("9 Elm Road", "+15103333333")
    assert (by_card[c]["addressLine1"], by_card[c]["city"]) == ("100 Main St.", "New York")
    assert by_card[c]["businessName"] == "Acme Store #12"
    # one shipment per card with its own address; the rest share the order's parcel
    assert [by_card[x]["shipmentId"] for x in (a, b, c)] == [a, b, order_id]

    # the printer reports each parcel on its own, with its own tracking
    sent = await printer.send(
        order_id, "SHIPPED", cardIds=[a], carrier="UPS", trackingNumber="1ZSAKI"
    )
    assert sent.json()["updatedCards"] == 1, sent.text
    sent = await printer.send(
        order_id, "SHIPPED", cardIds=[b], carrier="USPS", trackingNumber="9400LEE"
    )
    assert sent.json()["updatedCards"] == 1, sent.text
    delivered = await printer.send(order_id, "DELIVERED", cardIds=[a])
    assert delivered.json()["updatedCards"] == 1, delivered.text

    fulfillment = {x: (await _card(tenant, program["id"], x))["fulfillment"] for x in (a, b, c)}
    assert (fulfillment[a]["status"], fulfillment[a]["trackingNumber"]) == ("DELIVERED", "1ZSAKI")
    assert (fulfillment[b]["status"], fulfillment[b]["carrier"]) == ("SHIPPED", "USPS")
    assert fulfillment[b]["trackingNumber"] == "9400LEE"
    assert (fulfillment[c]["status"], fulfillment[c]["trackingNumber"]) == ("ORDERED", None)

    # the merchant hears which cards moved, each parcel with its own tracking
    async def shipped_events():
        events = _card_events(webhook_receiver, hook, "SHIPPED")
        return events if len(events) == 2 else None

    events = await wait_until(shipped_events, timeout=60, message="card webhooks")
    by_ids = {tuple(e["cardIds"]): e for e in events}
    assert set(by_ids) == {(a,), (b,)}
    assert (by_ids[(a,)]["carrier"], by_ids[(a,)]["trackingNumber"]) == ("UPS", "1ZSAKI")
    assert (by_ids[(b,)]["carrier"], by_ids[(b,)]["trackingNumber"]) == ("USPS", "9400LEE")
    delivered_events = await wait_until(
        lambda: _card_events(webhook_receiver, hook, "DELIVERED") or None,
        timeout=60,
        message="delivered webhook",
    )
    assert [e["cardIds"] for e in delivered_events] == [[a]]


async def test_shipping_only_on_physical_recipients_and_as_a_configuration_takes_it(tenant):
    program = await tenant.create_program(name="Own 422")
    config = await _config(tenant)
    own = _own("Saki", "1255 Lake Street", "Oakland")
    digital = {
        "initialValue": "10.00",
        "recipients": [{"customerName": "A"}, {"customerName": "B", "shipping": own}],
    }
    refused = await tenant.bulk(program["id"], digital)
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["detail"]
    assert error["loc"] == ["body", "recipients", 1, "shipping"]

    physical = {**digital, "isPhysical": True, "shippingConfigId": config["id"]}
    for bad, loc in (
        ({**own, "address": {**own["address"], "countryCode": "XX"}}, ["address", "countryCode"]),
        ({**own, "address": {**own["address"], "line1": "x" * 51}}, ["address", "line1"]),
        ({**own, "method": "BY_PIGEON"}, ["method"]),
        ({k: v for k, v in own.items() if k != "recipientName"}, ["recipientName"]),
    ):
        recipients = [{"customerName": "A"}, {"customerName": "B", "shipping": bad}]
        refused = await tenant.bulk(program["id"], {**physical, "recipients": recipients})
        assert refused.status_code == 422, refused.text
        locs = [e["loc"] for e in refused.json()["detail"]]
        assert ["body", "recipients", 1, "shipping", *loc] in locs, locs
    cards = await tenant.cards(program["id"])
    assert cards == []
