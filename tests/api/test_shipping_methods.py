"""Shipping methods by printer provider: Marqeta's methods beside ours; `file` takes every one,
`http` the ones PRINTER_SHIPPING_METHODS names; any other is a 422 at the field."""

import json

import pytest

from tests.fixtures.printer import shipping_config
from tests.fixtures.waiting import wait_until

URL = "/v2/giftcards/shipping-configs"
OURS = ["STANDARD", "TWO_DAY", "OVERNIGHT", "INTERNATIONAL"]
MARQETA = ["USPS_REGULAR", "FEDEX_EXPEDITED", "UPS_REGULAR", "UPS_EXPEDITED"]
# Marqeta's Perfect Plastic Printing
PERFECT_PLASTIC = {
    "PRINTER_PROVIDER": "http",
    "PRINTER_URL": "http://127.0.0.1:9/printer",
    "PRINTER_SHIPPING_METHODS": "USPS_REGULAR, FEDEX_EXPEDITED",
}


async def test_the_schema_lists_every_method(anon):
    spec = (await anon.get("/schema/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    shipping = next(s for name, s in schemas.items() if name.endswith("Shipping"))
    method = shipping["properties"]["method"]
    enum = method.get("enum") or schemas[method["$ref"].rsplit("/", 1)[1]]["enum"]
    assert sorted(enum) == sorted(OURS + MARQETA)


@pytest.mark.parametrize("method", MARQETA)
async def test_the_file_printer_takes_marqeta_methods(tenant, method):
    response = await tenant.http.post(URL, json=shipping_config(method=method))
    assert response.status_code == 201, response.text
    stored = await tenant.http.get(f"{URL}/{response.json()['id']}")
    assert stored.json()["shipping"]["method"] == method


async def test_a_restricted_http_printer_refuses_other_methods(deployment, new_tenant):
    api = deployment(**PERFECT_PLASTIC).api()
    tenant = await new_tenant("Perfect Plastic Stores", base_url=api.base_url)
    for method in ("UPS_EXPEDITED", "STANDARD"):
        refused = await tenant.http.post(URL, json=shipping_config(method=method))
        assert refused.status_code == 422, refused.text
        [error] = refused.json()["detail"]
        assert error["loc"] == ["body", "shipping", "method"]
        assert error["type"] == "shipping_method_not_supported"
        assert error["ctx"]["expected"] == "USPS_REGULAR, FEDEX_EXPEDITED"
    listed = await tenant.http.get(URL)
    assert listed.json()["data"] == []  # nothing stored for a refused one
    for method in ("USPS_REGULAR", "FEDEX_EXPEDITED"):
        accepted = await tenant.http.post(URL, json=shipping_config(method=method))
        assert accepted.status_code == 201, accepted.text
        assert accepted.json()["shipping"]["method"] == method


async def test_an_http_printer_without_a_list_takes_every_method(deployment, new_tenant):
    env = {**PERFECT_PLASTIC, "PRINTER_SHIPPING_METHODS": ""}
    api = deployment(**env).api()
    tenant = await new_tenant("Any Method Stores", base_url=api.base_url)
    for method in ("UPS_EXPEDITED", "OVERNIGHT"):
        response = await tenant.http.post(URL, json=shipping_config(method=method))
        assert response.status_code == 201, response.text


async def test_a_misspelt_method_setting_stops_the_api(start_api):
    env = {**PERFECT_PLASTIC, "PRINTER_SHIPPING_METHODS": "USPS_REGULR"}
    api = start_api(env, ready="none")
    try:
        await wait_until(lambda: not api.alive(), timeout=30, message="the API gave up")
    finally:
        if api.alive():
            api.stop()
    lines = [json.loads(line) for line in api.log_text().splitlines()]  # JSON, no traceback
    assert any("USPS_REGULR" in line["message"] for line in lines)
