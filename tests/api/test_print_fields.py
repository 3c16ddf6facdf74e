"""Marqeta's further print fields on `cardPersonalization`: a third name line, free-form text
fields, carrier and return-window images, and the thermal colour's default (UG_BLACK) on the
card and in the printer's manifest, in columns after every earlier one."""

import json

import pytest

from tests.api.csv_helpers import download_csv
from tests.fixtures.printer import shipping_config
from tests.fixtures.waiting import wait_until

# the manifest's columns before these fields: they stay where they were
EARLIER_COLUMNS = [
    "orderId", "cardId", "cardNumber", "nameLine1", "nameLine2", "carrierMessage", "cardImage",
    "thermalColor", "designTemplate", "expiresAt", "recipientFirstName", "recipientMiddleName",
    "recipientLastName", "businessName", "careOfLine", "addressLine1", "addressLine2", "city",
    "state", "postalCode", "countryCode", "phone", "shippingMethod", "expedited",
]  # fmt: skip
PRINT_COLUMNS = ["nameLine3", "customText", "carrierImage", "carrierReturnWindowImage"]
LOOKS = {
    "nameLine1": "ACME GIFT",
    "nameLine3": "  Member since 2026  ",  # stripped, as the other name lines
    "customText": {"store_code": "NYC-12", "promo": 'Ünïcode, "quoted"'},
    "cardImage": "acme-front.png",
    "carrierImage": "acme-carrier.png",
    "carrierReturnWindowImage": "acme-return.png",
}


async def _program_and_config(tenant) -> tuple[str, str]:
    program = await tenant.create_program(name="Print fields")
    config = await tenant.http.post("/v2/giftcards/shipping-configs", json=shipping_config())
    assert config.status_code == 201, config.text
    return program["id"], config.json()["id"]


def _physical(config_id: str, looks: dict, count: int = 2) -> dict:
    return {
        "initialValue": "10.00",
        "count": count,
        "isPhysical": True,
        "shippingConfigId": config_id,
        "cardPersonalization": looks,
    }


async def test_print_fields_reach_the_card_and_the_manifest(tenant, db):
    program_id, config_id = await _program_and_config(tenant)
    first = await tenant.bulk(program_id, _physical(config_id, LOOKS))
    assert first.status_code == 201, first.text
    colored = {"nameLine1": "PLAIN", "thermalColor": "UG_RED"}
    second = await tenant.bulk(program_id, _physical(config_id, colored, count=1))
    assert second.status_code == 201, second.text

    issuance = await tenant.http.get(
        f"/v2/giftcards/bulk-issuances/{first.json()['bulkIssuanceId']}"
    )
    asked = issuance.json()["cardPersonalization"]  # as requested
    assert (asked["nameLine3"], asked["thermalColor"]) == ("Member since 2026", None)
    assert asked["customText"] == LOOKS["customText"]

    cards = {c["id"]: c for c in await tenant.cards(program_id)}
    assert len(cards) == 3
    first_ids = {c["id"] for c in first.json()["cards"]}
    for card_id in first_ids:
        looks = cards[card_id]["personalization"]
        assert looks["nameLine3"] == "Member since 2026"
        assert looks["customText"] == {"store_code": "NYC-12", "promo": 'Ünïcode, "quoted"'}
        assert looks["carrierImage"] == "acme-carrier.png"
        assert looks["carrierReturnWindowImage"] == "acme-return.png"
        assert looks["thermalColor"] == "UG_BLACK"  # Marqeta's default
    [plain_id] = [c["id"] for c in second.json()["cards"]]
    plain = cards[plain_id]["personalization"]
    assert plain["thermalColor"] == "UG_RED"
    assert (plain["nameLine3"], plain["customText"], plain["carrierImage"]) == (None, None, None)

    # a card stores only what was asked: no key for a field nobody set, not even the default
    stored = db.cards.find_one({"bulk_issuance_id": second.json()["bulkIssuanceId"]})
    assert stored["personalization"] == {"nameLine1": "PLAIN", "thermalColor": "UG_RED"}

    fulfilled = await tenant.http.post(f"/v2/giftcards/shipping-configs/{config_id}/fulfill")
    assert fulfilled.status_code == 202, fulfilled.text
    order_id = fulfilled.json()["fulfillmentOrderId"]

    async def manifest_url():
        order = await tenant.http.get(f"/v2/giftcards/fulfillment-orders/{order_id}")
        return order.json()["manifestUrl"] if order.json()["status"] == "SUBMITTED" else None

    rows, header = await download_csv(await wait_until(manifest_url, timeout=60))
    assert header[: len(EARLIER_COLUMNS)] == EARLIER_COLUMNS
    after = len(EARLIER_COLUMNS)
    assert header[after : after + len(PRINT_COLUMNS)] == PRINT_COLUMNS  # right after them
    by_card = {r["cardId"]: r for r in rows}
    assert set(by_card) == set(cards)
    for card_id in first_ids:
        row = by_card[card_id]
        assert row["thermalColor"] == "UG_BLACK"
        assert row["nameLine3"] == "Member since 2026"
        assert json.loads(row["customText"]) == LOOKS["customText"]
        assert list(json.loads(row["customText"])) == ["store_code", "promo"]  # as given
        assert (row["carrierImage"], row["carrierReturnWindowImage"]) == (
            "acme-carrier.png",
            "acme-return.png",
        )
    row = by_card[plain_id]
    assert (row["thermalColor"], row["nameLine3"], row["customText"]) == ("UG_RED", "", "")
    assert (row["carrierImage"], row["carrierReturnWindowImage"]) == ("", "")


BAD = [
    (["nameLine3"], "n" * 51),
    (["nameLine3"], "   "),
    (["customText"], {}),
    (["customText"], {f"field_{i}": "x" for i in range(11)}),
    (["customText", "store_code"], "v" * 51),
    (["customText", "store_code"], "  "),
    (["customText", "bad key", "[key]"], "x"),
    (["customText", "k" * 41, "[key]"], "x"),
    (["carrierImage"], "c" * 256),
    (["carrierImage"], ""),
    (["carrierReturnWindowImage"], "r" * 256),
    (["thermalColor"], "t" * 51),
]


@pytest.mark.parametrize(("path", "value"), BAD, ids=lambda v: str(v)[:20])
async def test_over_long_print_fields_are_a_422_at_their_field(tenant, path, value):
    program_id, config_id = await _program_and_config(tenant)
    if path[0] == "customText" and len(path) > 1:
        looks = {"customText": {path[1]: value}}
    else:
        looks = {path[0]: value}
    response = await tenant.bulk(program_id, _physical(config_id, looks))
    assert response.status_code == 422, response.text
    locs = [e["loc"] for e in response.json()["detail"]]
    assert locs == [["body", "cardPersonalization", *path]], response.text
    assert await tenant.cards(program_id) == []


async def test_the_bounds_themselves_are_accepted(tenant):
    program_id, config_id = await _program_and_config(tenant)
    looks = {
        "nameLine3": "n" * 50,
        "customText": {f"f{i}" + "k" * 38: "v" * 50 for i in range(10)},
        "carrierImage": "c" * 255,
        "carrierReturnWindowImage": "r" * 255,
    }
    response = await tenant.bulk(program_id, _physical(config_id, looks, count=1))
    assert response.status_code == 201, response.text
    [card] = await tenant.cards(program_id)
    assert card["personalization"]["customText"] == looks["customText"]
    assert card["personalization"]["nameLine3"] == "n" * 50
