"""Shipping configurations: every bound of the shipping block is a 422 with its loc."""

import copy

import pytest

from tests.fixtures.printer import shipping_config

URL = "/v2/giftcards/shipping-configs"


def _with(path: list, value) -> dict:
    """A valid body with the value at `path` replaced (`...` deletes it)."""
    body = copy.deepcopy(shipping_config())
    target = body
    for key in path[:-1]:
        target = target.setdefault(key, {})
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return body


BAD = [
    (["name"], ""),
    (["name"], "n" * 201),
    (["policy"], "NIGHTLY"),
    (["shipping"], ...),
    (["shipping", "recipientName", "firstName"], ...),
    (["shipping", "recipientName", "firstName"], "f" * 51),
    (["shipping", "recipientName", "middleName"], "m" * 51),
    (["shipping", "recipientName", "lastName"], "  "),
    (["shipping", "recipientName", "lastName"], "l" * 51),
    (["shipping", "businessName"], "b" * 51),
    (["shipping", "address"], ...),
    (["shipping", "address", "line1"], ...),
    (["shipping", "address", "line1"], ""),
    (["shipping", "address", "line1"], "a" * 51),
    (["shipping", "address", "line2"], "a" * 51),
    (["shipping", "address", "city"], "c" * 51),
    (["shipping", "address", "state"], "s" * 51),
    (["shipping", "address", "postalCode"], "9" * 21),
    (["shipping", "address", "countryCode"], "USA"),
    (["shipping", "address", "countryCode"], "us"),
    (["shipping", "address", "countryCode"], "XX"),
    (["shipping", "address", "countryCode"], ...),
    (["shipping", "address", "zip"], "98109"),
    (["shipping", "phone"], "4374570680"),
    (["shipping", "phone"], "+04374570680"),
    (["shipping", "phone"], "+1234567890123456"),
    (["shipping", "phone"], "+1 437 457 0680"),
    (["shipping", "method"], "GROUND"),
    (["shipping", "method"], ...),
    (["shipping", "expedited"], "maybe"),
    (["shipping", "careOfLine"], "c" * 256),
    (["returnAddress", "line1"], "r" * 51),
    (["returnAddress", "countryCode"], "ZZ"),
    (["unexpected"], 1),
]


@pytest.mark.parametrize(("path", "value"), BAD, ids=lambda v: str(v)[:24])
async def test_each_bad_field_is_a_422_with_its_loc(tenant, path, value):
    body = _with(path, value)
    if path[0] == "returnAddress":
        body["returnAddress"] = {**shipping_config()["shipping"]["address"], path[1]: value}
    response = await tenant.http.post(URL, json=body)
    assert response.status_code == 422, response.text
    assert [e["loc"] for e in response.json()["detail"]] == [["body", *path]], response.text


async def test_the_bounds_themselves_are_accepted(tenant):
    body = _with(["shipping", "address", "line1"], "a" * 50)
    body["shipping"]["address"]["postalCode"] = "9" * 20
    body["shipping"]["phone"] = "+123456789012345"
    body["shipping"]["careOfLine"] = "c" * 255
    body["shipping"]["method"] = "INTERNATIONAL"
    body["shipping"]["address"]["countryCode"] = "DE"
    body["returnAddress"] = {**body["shipping"]["address"], "line2": None}
    response = await tenant.http.post(URL, json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["shipping"]["address"]["line1"] == "a" * 50
    assert created["policy"] == "MANUAL" and created["createdAt"].endswith("Z")
    assert (await tenant.http.get(f"{URL}/{created['id']}")).json() == created


async def test_list_paginates_and_is_per_merchant(new_tenant, other_tenant):
    merchant = await new_tenant("Configs Co")
    made = []
    for i in range(3):
        response = await merchant.http.post(URL, json=shipping_config(name=f"Store {i}"))
        made.append(response.json()["id"])
    first = (await merchant.http.get(URL, params={"limit": 2})).json()
    assert [c["id"] for c in first["data"]] == made[::-1][:2] and first["nextCursor"]
    rest = (await merchant.http.get(URL, params={"limit": 2, "cursor": first["nextCursor"]})).json()
    assert [c["id"] for c in rest["data"]] == [made[0]] and rest["nextCursor"] is None
    assert (await other_tenant.http.get(f"{URL}/{made[0]}")).status_code == 404
    theirs = (await other_tenant.http.get(URL)).json()["data"]
    assert not {c["id"] for c in theirs} & set(made)
    assert (await merchant.http.get(f"{URL}/not-an-id")).status_code == 422
    assert (await merchant.http.get(URL, params={"cursor": "garbage"})).status_code == 422
