"""Programs: create, get, list (cursor pagination), validation."""

import pytest


async def test_create_uses_defaults_from_settings(tenant):
    program = await tenant.create_program(name="Defaults")
    assert program["syncThreshold"] == 50
    assert program["currency"] == "USD"
    assert len(program["cardNumberPrefix"]) == 6
    assert program["createdAt"].endswith("Z")
    fetched = (await tenant.http.get(f"/v2/giftcards/programs/{program['id']}")).json()
    assert fetched == program


async def test_create_with_every_field(tenant):
    program = await tenant.create_program(
        name="Full",
        currency="JPY",
        syncThreshold=5,
        cardNumberPrefix="900123",
        callbackUrl="https://merchant.example/hooks/giftcards",
    )
    assert program["syncThreshold"] == 5
    assert program["cardNumberPrefix"] == "900123"
    assert program["callbackUrl"] == "https://merchant.example/hooks/giftcards"


@pytest.mark.parametrize(
    "body, loc",
    [
        ({"currency": "USD"}, ["body", "name"]),
        ({"name": "x", "currency": "usd"}, ["body", "currency"]),
        ({"name": "x", "currency": "XYZ"}, ["body", "currency"]),
        ({"name": "x", "syncThreshold": 0}, ["body", "syncThreshold"]),
        ({"name": "x", "cardNumberPrefix": "12345"}, ["body", "cardNumberPrefix"]),
        ({"name": "x", "cardNumberPrefix": "12345a"}, ["body", "cardNumberPrefix"]),
        ({"name": "x", "callbackUrl": "not a url"}, ["body", "callbackUrl"]),
    ],
)
async def test_bad_program_is_422_with_loc(tenant, body, loc):
    response = await tenant.http.post("/v2/giftcards/programs", json=body)
    assert response.status_code == 422, response.text
    assert loc in [error["loc"] for error in response.json()["detail"]]


async def test_list_is_paginated_newest_first(new_tenant):
    merchant = await new_tenant("Paginator")
    created = [(await merchant.create_program(name=f"P{i}"))["id"] for i in range(5)]
    first = (await merchant.http.get("/v2/giftcards/programs", params={"limit": 2})).json()
    assert [p["id"] for p in first["data"]] == created[::-1][:2]
    seen = [p["id"] for p in first["data"]]
    cursor = first["nextCursor"]
    while cursor:
        page = (
            await merchant.http.get("/v2/giftcards/programs", params={"limit": 2, "cursor": cursor})
        ).json()
        seen += [p["id"] for p in page["data"]]
        cursor = page["nextCursor"]
    assert seen == created[::-1]


@pytest.mark.parametrize(
    "params, loc",
    [({"limit": 0}, "limit"), ({"limit": 1001}, "limit"), ({"cursor": "!!not-a-cursor"}, "cursor")],
)
async def test_bad_pagination_is_422(tenant, params, loc):
    response = await tenant.http.get("/v2/giftcards/programs", params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", loc]


async def test_unknown_and_malformed_program_ids(tenant):
    missing = await tenant.http.get("/v2/giftcards/programs/" + "0" * 24)
    assert missing.status_code == 404
    assert missing.json()["code"] == "program_not_found"
    malformed = await tenant.http.get("/v2/giftcards/programs/NOT-AN-ID")
    assert malformed.status_code == 422
    assert malformed.json()["detail"][0]["loc"] == ["path", "programId"]
