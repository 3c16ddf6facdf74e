"""`expirationOffset` on a bulk request (Marqeta's), and the program's default, through HTTP.

The expected expiry is computed here on its own (not with app.lib.expiration): the batch is
accepted somewhere between the moments just before and just after the request, so the card's
expiry must be what one of those two moments gives (both, unless a boundary fell between)."""

from datetime import UTC, datetime, timedelta

import pytest


@pytest.fixture(scope="module")
async def program(tenant):
    return await tenant.create_program(name="Offsets", syncThreshold=5)


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _end_of_month(year: int, month: int) -> datetime:
    """The last second of the month: a second before the first of the next one."""
    year, month = year + month // 12, month % 12 + 1
    return datetime(year, month, 1, tzinfo=UTC) - timedelta(seconds=1)


def _expected(unit: str, value: int, at: datetime) -> datetime:
    if unit in ("YEARS", "MONTHS"):
        months = value * 12 if unit == "YEARS" else value
        total = at.year * 12 + at.month - 1 + months  # months since year 0, 0-based
        return _end_of_month(total // 12, total % 12 + 1)
    if unit == "DAYS":
        day = (at + timedelta(days=value)).date()
        return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
            hours=23, minutes=59, seconds=59
        )
    seconds = {"HOURS": 3600, "MINUTES": 60, "SECONDS": 1}[unit] * value
    return (at + timedelta(seconds=seconds)).replace(microsecond=0)


async def _issue(tenant, program_id: str, body: dict) -> tuple[dict, list[dict], tuple]:
    """Issues, and returns the bulk issuance, its cards and the moments around the request."""
    before = datetime.now(UTC)
    response = await tenant.bulk(program_id, body)
    after = datetime.now(UTC)
    assert response.status_code in (201, 202), response.text
    if response.status_code == 202:
        task = await tenant.wait_task(response.json()["taskId"], timeout=60)
        issuance_id = task["bulkIssuanceId"]
    else:
        issuance_id = response.json()["bulkIssuanceId"]
    issuance = (await tenant.http.get(f"/v2/giftcards/bulk-issuances/{issuance_id}")).json()
    cards = await tenant.cards(program_id, bulkIssuanceId=issuance_id)
    return issuance, cards, (before, after)


def _assert_expiry(unit: str, value: int, expires_at: str, moments: tuple) -> None:
    before, after = moments
    got = _parse(expires_at)
    if unit in ("HOURS", "MINUTES", "SECONDS"):  # exact: within the request's span
        low = _expected(unit, value, before.replace(microsecond=0))
        assert low <= got <= _expected(unit, value, after), (unit, value, got)
    else:
        assert got in {_expected(unit, value, before), _expected(unit, value, after)}, (
            unit,
            value,
            got,
        )
        assert (got.hour, got.minute, got.second) == (23, 59, 59)


@pytest.mark.parametrize(
    ("unit", "value"),
    [("YEARS", 3), ("MONTHS", 13), ("DAYS", 30), ("HOURS", 5), ("MINUTES", 90), ("SECONDS", 45)],
)
async def test_each_unit_is_rounded_as_marqeta_rounds(tenant, program, unit, value):
    offset = {"unit": unit, "value": value}
    body = {"initialValue": "5.00", "count": 2, "expirationOffset": offset}
    issuance, cards, moments = await _issue(tenant, program["id"], body)
    assert issuance["expirationOffset"] == offset
    _assert_expiry(unit, value, issuance["expiresAt"], moments)
    assert [c["expiresAt"] for c in cards] == [issuance["expiresAt"]] * 2


async def test_a_queued_batch_shares_one_expiry_from_its_acceptance(tenant, program):
    offset = {"unit": "SECONDS", "value": 30}
    body = {"initialValue": "5.00", "count": 7, "expirationOffset": offset}  # over 5: queued
    issuance, cards, moments = await _issue(tenant, program["id"], body)
    assert issuance["taskId"] is not None and len(cards) == 7
    _assert_expiry("SECONDS", 30, issuance["expiresAt"], moments)
    assert {c["expiresAt"] for c in cards} == {issuance["expiresAt"]}


async def test_expires_at_and_expiration_offset_together_is_422(tenant, program):
    body = {
        "initialValue": "5.00",
        "count": 1,
        "expiresAt": "2035-01-01T00:00:00Z",
        "expirationOffset": {"unit": "DAYS", "value": 3},
    }
    response = await tenant.bulk(program["id"], body)
    assert response.status_code == 422, response.text
    assert [e["loc"] for e in response.json()["detail"]] == [["body", "expirationOffset"]]


@pytest.mark.parametrize(
    "offset",
    [
        {"unit": "WEEKS", "value": 2},
        {"unit": "DAYS", "value": 0},
        {"unit": "DAYS"},
        {"unit": "YEARS", "value": 101},
        {"unit": "DAYS", "value": 3, "extra": 1},
    ],
)
async def test_a_bad_offset_is_422_at_its_field(tenant, program, offset):
    body = {"initialValue": "5.00", "count": 1, "expirationOffset": offset}
    response = await tenant.bulk(program["id"], body)
    assert response.status_code == 422, response.text
    assert all(e["loc"][:2] == ["body", "expirationOffset"] for e in response.json()["detail"])


async def test_the_programs_offset_applies_when_the_request_gives_neither(tenant):
    offset = {"unit": "DAYS", "value": 10}
    program = await tenant.create_program(name="Ten days", expirationOffset=offset)
    issuance, cards, moments = await _issue(
        tenant, program["id"], {"initialValue": "5.00", "count": 2}
    )
    assert issuance["expirationOffset"] == offset
    _assert_expiry("DAYS", 10, issuance["expiresAt"], moments)
    assert {c["expiresAt"] for c in cards} == {issuance["expiresAt"]}
    # the request's own offset, or its expiresAt, wins over the program's
    mine = {"unit": "HOURS", "value": 2}
    body = {"initialValue": "5.00", "count": 1, "expirationOffset": mine}
    issuance, _, moments = await _issue(tenant, program["id"], body)
    assert issuance["expirationOffset"] == mine
    _assert_expiry("HOURS", 2, issuance["expiresAt"], moments)
    body = {"initialValue": "5.00", "count": 1, "expiresAt": "2031-06-30T12:00:00Z"}
    issuance, cards, _ = await _issue(tenant, program["id"], body)
    assert issuance["expiresAt"] == cards[0]["expiresAt"]
    assert _parse(issuance["expiresAt"]) == datetime(2031, 6, 30, 12, tzinfo=UTC)
    assert issuance["expirationOffset"] is None
