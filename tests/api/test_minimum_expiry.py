"""Expiry rules that follow the law: a program's `minimumExpiryDays` (1,825: Regulation E's five
years) refuses a bulk request that would expire sooner (422 at the field that asked), makes
the default expiry the later of a year and the minimum, and a card past its `expiresAt` reads
`expired`."""

from datetime import UTC, datetime, timedelta

from tests.fixtures.waiting import wait_until

FIVE_YEARS = 1_825


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _in_future(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat().replace("+00:00", "Z")


def _refused_at(response, field: str) -> None:
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", field], error
    assert "minimumExpiryDays" in error["msg"]


async def test_a_program_minimum_refuses_sooner_expiries_and_sets_the_default(tenant):
    program = await tenant.create_program(
        name="Reg E", syncThreshold=10, minimumExpiryDays=FIVE_YEARS
    )
    assert program["minimumExpiryDays"] == FIVE_YEARS
    pid = program["id"]

    soon = await tenant.bulk(
        pid, {"initialValue": 5, "count": 2, "expiresAt": _in_future(days=730)}
    )
    _refused_at(soon, "expiresAt")
    offset = {"unit": "YEARS", "value": 2}
    _refused_at(
        await tenant.bulk(pid, {"initialValue": 5, "count": 2, "expirationOffset": offset}),
        "expirationOffset",
    )
    queued = {"initialValue": 5, "count": 20, "expiresAt": _in_future(days=FIVE_YEARS - 1)}
    _refused_at(await tenant.bulk(pid, queued), "expiresAt")  # also a queued size
    assert await tenant.cards(pid) == []  # a refused request issues nothing

    before = datetime.now(UTC)
    default = await tenant.bulk(pid, {"initialValue": 5, "count": 2})
    assert default.status_code == 201, default.text
    [card, _] = await tenant.cards(pid)
    floor = before + timedelta(days=FIVE_YEARS)
    assert floor <= _parse(card["expiresAt"]) <= datetime.now(UTC) + timedelta(days=FIVE_YEARS)
    later = {"initialValue": 5, "count": 2, "expirationOffset": {"unit": "YEARS", "value": 6}}
    assert (await tenant.bulk(pid, later)).status_code == 201

    # the program's own default offset may not undercut its minimum, set in either order
    path = f"/v2/giftcards/programs/{pid}"
    short = {"expirationOffset": {"unit": "YEARS", "value": 1}}
    _refused_at(await tenant.http.patch(path, json=short), "expirationOffset")
    lifted = await tenant.http.patch(path, json={"minimumExpiryDays": None})
    assert lifted.status_code == 200 and lifted.json()["minimumExpiryDays"] is None
    assert (await tenant.http.patch(path, json=short)).status_code == 200
    _refused_at(
        await tenant.http.patch(path, json={"minimumExpiryDays": FIVE_YEARS}), "minimumExpiryDays"
    )
    both = {"name": "Bad", "expirationOffset": short["expirationOffset"], "minimumExpiryDays": 400}
    _refused_at(await tenant.http.post("/v2/giftcards/programs", json=both), "expirationOffset")


async def test_without_a_minimum_the_default_is_a_year(tenant):
    program = await tenant.create_program(name="No minimum", syncThreshold=10)
    assert program["minimumExpiryDays"] is None
    before = datetime.now(UTC)
    assert (await tenant.bulk(program["id"], {"initialValue": 5, "count": 1})).status_code == 201
    [card] = await tenant.cards(program["id"])
    expires = _parse(card["expiresAt"])
    assert before + timedelta(days=365) <= expires <= datetime.now(UTC) + timedelta(days=365)


async def test_a_card_past_its_expiry_reads_expired(tenant):
    program = await tenant.create_program(name="Short-lived", syncThreshold=10)
    body = {"initialValue": 5, "count": 1, "expiresAt": _in_future(seconds=4)}
    issued = await tenant.bulk(program["id"], body)
    assert issued.status_code == 201, issued.text
    card_id = issued.json()["cards"][0]["id"]
    url = f"/v2/giftcards/programs/{program['id']}/cards/{card_id}"
    first = (await tenant.http.get(url)).json()
    assert first["status"] == "active" or _parse(first["expiresAt"]) <= datetime.now(UTC)

    async def expired():
        card = (await tenant.http.get(url)).json()
        return card if card["status"] == "expired" else None

    card = await wait_until(expired, timeout=30, message="the card read as expired")
    assert _parse(card["expiresAt"]) <= datetime.now(UTC)
