"""PATCH /v2/giftcards/programs/{programId}: each setting, its 422s, its 404, a change seen at
once by another API process, and the default shipping configuration of physical batches."""

import httpx
import pytest

from tests.fixtures.printer import shipping_config
from tests.fixtures.tenants import token_for

PROGRAMS = "/v2/giftcards/programs"


async def _config(tenant, name: str = "Default store") -> str:
    response = await tenant.http.post(
        "/v2/giftcards/shipping-configs", json=shipping_config(name=name)
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def _patch(tenant, program_id: str, body: dict) -> httpx.Response:
    return await tenant.http.patch(f"{PROGRAMS}/{program_id}", json=body)


async def test_new_settings_at_creation_and_their_defaults(tenant):
    plain = await tenant.create_program(name="Plain")
    assert plain["phoneRegion"] == "US"
    assert plain["notificationChannels"] == ["email", "sms"]
    assert plain["defaultShippingConfigId"] is None and plain["expirationOffset"] is None
    config = await _config(tenant)
    full = await tenant.create_program(
        name="Full settings",
        defaultShippingConfigId=config,
        phoneRegion="GB",
        notificationChannels=["sms"],
        expirationOffset={"unit": "MONTHS", "value": 18},
    )
    assert full["defaultShippingConfigId"] == config
    assert full["phoneRegion"] == "GB" and full["notificationChannels"] == ["sms"]
    assert full["expirationOffset"] == {"unit": "MONTHS", "value": 18}
    assert (await tenant.http.get(f"{PROGRAMS}/{full['id']}")).json() == full


async def test_each_field_is_patched_alone(tenant):
    program = await tenant.create_program(name="Before", syncThreshold=10)
    config = await _config(tenant)
    changes = [
        {"name": "After"},
        {"syncThreshold": 25},
        {"callbackUrl": "https://merchant.example/hooks"},
        {"defaultShippingConfigId": config},
        {"phoneRegion": "DE"},
        {"notificationChannels": ["email"]},
        {"expirationOffset": {"unit": "YEARS", "value": 2}},
    ]
    expected = dict(program)
    for change in changes:
        response = await _patch(tenant, program["id"], change)
        assert response.status_code == 200, response.text
        expected |= change
        assert response.json() == expected, change
    assert expected["callbackUrl"] == "https://merchant.example/hooks"
    assert (await tenant.http.get(f"{PROGRAMS}/{program['id']}")).json() == expected


async def test_null_clears_the_clearable_fields(tenant):
    config = await _config(tenant)
    program = await tenant.create_program(
        name="Clearable",
        callbackUrl="https://merchant.example/cb",
        defaultShippingConfigId=config,
        expirationOffset={"unit": "DAYS", "value": 90},
    )
    cleared = {"callbackUrl": None, "defaultShippingConfigId": None, "expirationOffset": None}
    response = await _patch(tenant, program["id"], cleared)
    assert response.status_code == 200, response.text
    assert response.json() == program | cleared


@pytest.mark.parametrize(
    "body, loc",
    [
        ({}, ["body"]),
        ({"currency": "EUR"}, ["body", "currency"]),
        ({"name": None}, ["body", "name"]),
        ({"name": ""}, ["body", "name"]),
        ({"syncThreshold": 0}, ["body", "syncThreshold"]),
        ({"syncThreshold": None}, ["body", "syncThreshold"]),
        ({"callbackUrl": "not a url"}, ["body", "callbackUrl"]),
        ({"callbackUrl": "http://169.254.169.254/latest"}, ["body", "callbackUrl"]),
        ({"defaultShippingConfigId": "nope"}, ["body", "defaultShippingConfigId"]),
        ({"defaultShippingConfigId": "0" * 24}, ["body", "defaultShippingConfigId"]),
        ({"phoneRegion": "XX"}, ["body", "phoneRegion"]),
        ({"phoneRegion": "us"}, ["body", "phoneRegion"]),
        ({"phoneRegion": None}, ["body", "phoneRegion"]),
        ({"notificationChannels": []}, ["body", "notificationChannels"]),
        ({"notificationChannels": ["fax"]}, ["body", "notificationChannels", 0]),
        ({"notificationChannels": ["sms", "sms"]}, ["body", "notificationChannels"]),
        (
            {"expirationOffset": {"unit": "YEARS", "value": 0}},
            ["body", "expirationOffset", "value"],
        ),
        ({"expirationOffset": {"unit": "WEEKS", "value": 1}}, ["body", "expirationOffset", "unit"]),
    ],
)
async def test_bad_patch_is_422_at_its_field_and_changes_nothing(tenant, body, loc):
    program = await tenant.create_program(name="Unchanged")
    response = await _patch(tenant, program["id"], body)
    assert response.status_code == 422, response.text
    assert loc in [error["loc"] for error in response.json()["detail"]], response.text
    assert (await tenant.http.get(f"{PROGRAMS}/{program['id']}")).json() == program


async def test_another_merchants_shipping_config_is_422(tenant, other_tenant):
    theirs = await _config(other_tenant, name="Theirs")
    program = await tenant.create_program(name="Mine")
    response = await _patch(tenant, program["id"], {"defaultShippingConfigId": theirs})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "defaultShippingConfigId"]
    created = await tenant.http.post(
        PROGRAMS, json={"name": "Mine too", "defaultShippingConfigId": theirs}
    )
    assert created.status_code == 422, created.text
    assert created.json()["detail"][0]["loc"] == ["body", "defaultShippingConfigId"]


async def test_another_merchants_program_is_404(tenant, other_tenant):
    theirs = await other_tenant.create_program(name="Not yours")
    response = await _patch(tenant, theirs["id"], {"name": "Hijacked"})
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "program_not_found"
    missing = await _patch(tenant, "0" * 24, {"name": "Ghost"})
    assert missing.status_code == 404 and missing.json()["code"] == "program_not_found"
    assert (await other_tenant.http.get(f"{PROGRAMS}/{theirs['id']}")).json()["name"] == "Not yours"


# ------------------------------------------------------------ the default shipping configuration


async def test_physical_batch_without_config_uses_the_programs_default(tenant):
    config = await _config(tenant)
    program = await tenant.create_program(name="Ships by default", defaultShippingConfigId=config)
    response = await tenant.bulk(
        program["id"], {"initialValue": "5.00", "count": 2, "isPhysical": True}
    )
    assert response.status_code == 201, response.text
    issuance_id = response.json()["bulkIssuanceId"]
    issuance = (await tenant.http.get(f"/v2/giftcards/bulk-issuances/{issuance_id}")).json()
    assert issuance["isPhysical"] is True and issuance["shippingConfigId"] == config
    cards = await tenant.cards(program["id"], bulkIssuanceId=issuance_id)
    assert len(cards) == 2 and all(c["fulfillment"]["status"] == "CREATED" for c in cards)
    digital = await tenant.bulk(program["id"], {"initialValue": "5.00", "count": 1})
    assert digital.status_code == 201, digital.text
    shown = (
        await tenant.http.get(f"/v2/giftcards/bulk-issuances/{digital.json()['bulkIssuanceId']}")
    ).json()
    assert shown["isPhysical"] is False and shown["shippingConfigId"] is None


async def test_physical_batch_without_config_or_default_is_still_422(tenant):
    program = await tenant.create_program(name="No default")
    response = await tenant.bulk(
        program["id"], {"initialValue": "5.00", "count": 2, "isPhysical": True}
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "shippingConfigId"]
    assert await tenant.cards(program["id"]) == []


# ------------------------------------------------------------ every process sees a change at once


async def test_a_patch_applies_at_once_in_another_api_process(deployment, new_tenant):
    """Process B has just read the program (a cached copy would be fresh) when A changes it;
    B's next request, a read or a physical batch, sees the change."""
    d = deployment()
    a, b_process = d.api(), d.api()
    tenant = await new_tenant("Two processes", base_url=a.base_url)
    token = await token_for(b_process.base_url, tenant.api_key)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=b_process.base_url, headers=headers, timeout=60) as b:
        program = await tenant.create_program(name="Two processes")
        path = f"{PROGRAMS}/{program['id']}"
        physical = {"initialValue": "5.00", "count": 1, "isPhysical": True}
        assert (await b.get(path)).json()["defaultShippingConfigId"] is None
        refused = await b.post(f"{path}/cards/bulk", json=physical)
        assert refused.status_code == 422, refused.text

        config = await _config(tenant)
        change = {"defaultShippingConfigId": config, "name": "Renamed"}
        patched = await _patch(tenant, program["id"], change)
        assert patched.status_code == 200, patched.text

        seen = (await b.get(path)).json()
        assert seen["defaultShippingConfigId"] == config and seen["name"] == "Renamed"
        issued = await b.post(f"{path}/cards/bulk", json=physical)
        assert issued.status_code == 201, issued.text
        listed = (await b.get(PROGRAMS, params={"limit": 100})).json()["data"]
        assert [p["name"] for p in listed if p["id"] == program["id"]] == ["Renamed"]
