"""Every bound of the seed's BulkIssueGiftCardRequest: 422 with the right `loc`, nothing written."""

from datetime import UTC, datetime, timedelta

import pytest

PAST = (datetime.now(UTC) - timedelta(days=1)).isoformat()
FUTURE = (datetime.now(UTC) + timedelta(days=30)).isoformat()
OK = {"initialValue": "25.00", "count": 1}


@pytest.fixture(scope="module")
async def program(tenant):
    return await tenant.create_program(name="Validation")


@pytest.mark.parametrize(
    "body, loc",
    [
        ({"count": 1}, ["body", "initialValue"]),
        ({"initialValue": 0, "count": 1}, ["body", "initialValue"]),
        ({"initialValue": "0.00", "count": 1}, ["body", "initialValue"]),
        ({"initialValue": "10000.01", "count": 1}, ["body", "initialValue"]),
        ({"initialValue": 10000.5, "count": 1}, ["body", "initialValue"]),
        ({"initialValue": "abc", "count": 1}, ["body", "initialValue"]),
        ({"initialValue": "-5", "count": 1}, ["body", "initialValue"]),
        ({"initialValue": "25.001", "count": 1}, ["body", "initialValue"]),
        ({"initialValue": True, "count": 1}, ["body", "initialValue"]),
        ({**OK, "designTemplate": "x" * 101}, ["body", "designTemplate"]),
        ({**OK, "expiresAt": PAST}, ["body", "expiresAt"]),
        ({**OK, "expiresAt": "next tuesday"}, ["body", "expiresAt"]),
        ({**OK, "isPhysical": "maybe"}, ["body", "isPhysical"]),
        ({"initialValue": "1", "count": 0}, ["body", "count"]),
        ({"initialValue": "1", "count": 10_000_001}, ["body", "count"]),  # the cap + 1
        ({"initialValue": "1", "count": 2.5}, ["body", "count"]),
        ({"initialValue": "1"}, ["body"]),
        ({"initialValue": "1", "count": 1, "recipients": [{}]}, ["body"]),
        ({"initialValue": "1", "recipients": []}, ["body", "recipients"]),
        ({**OK, "surprise": 1}, ["body", "surprise"]),
    ],
)
async def test_request_bounds(tenant, db, program, body, loc):
    before = db.cards.count_documents({"program_id": program["id"]})
    response = await tenant.bulk(program["id"], body)
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert loc in [error["loc"] for error in errors], errors
    assert all({"loc", "msg", "type"} <= set(error) for error in errors)
    assert db.cards.count_documents({"program_id": program["id"]}) == before
    assert db.bulk_issuances.count_documents({"program_id": program["id"]}) == 0


@pytest.mark.parametrize(
    "recipient, field",
    [
        ({"customerEmail": "not-an-email"}, "customerEmail"),
        ({"customerPhone": "555-1234"}, "customerPhone"),
        ({"customerPhone": "+0123456789"}, "customerPhone"),
        ({"customerPhone": "+1234567890123456"}, "customerPhone"),
        ({"customerName": "n" * 256}, "customerName"),
        ({"senderName": "s" * 256}, "senderName"),
        ({"customMessage": "m" * 501}, "customMessage"),
        ({"nickname": "x"}, "nickname"),
    ],
)
async def test_recipient_bounds_point_at_the_recipient(tenant, program, recipient, field):
    recipients = [{"customerEmail": "ok@example.com"}] * 3 + [recipient]
    response = await tenant.bulk(program["id"], {"initialValue": "1", "recipients": recipients})
    assert response.status_code == 422, response.text
    assert ["body", "recipients", 3, field] in [e["loc"] for e in response.json()["detail"]]


async def test_recipients_upper_bound(tenant, program):
    response = await tenant.bulk(program["id"], {"initialValue": "1", "recipients": [{}] * 10_001})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "recipients"]


async def test_values_at_the_bounds_are_accepted(tenant, program):
    body = {
        "initialValue": "10000.00",
        "designTemplate": "d" * 100,
        "expiresAt": FUTURE,
        "recipients": [
            {
                "customerPhone": "+431234567890123",  # 15 digits, the longest E.164
                "customerName": "n" * 255,
                "senderName": "s" * 255,
                "customMessage": "m" * 500,
            }
        ],
    }
    response = await tenant.bulk(program["id"], body)
    assert response.status_code == 201, response.text
    low = await tenant.bulk(program["id"], {"initialValue": 0.01, "count": 1})
    assert low.status_code == 201, low.text


async def test_currency_minor_digits_decide_the_decimals(tenant):
    yen = await tenant.create_program(name="Yen", currency="JPY")
    assert (await tenant.bulk(yen["id"], {"initialValue": "1.5", "count": 1})).status_code == 422
    ok = await tenant.bulk(yen["id"], {"initialValue": "1500", "count": 1})
    assert ok.status_code == 201
    card = (await tenant.cards(yen["id"]))[0]
    assert card["initialValue"] == "1500"


async def test_malformed_json_is_422(tenant, program):
    response = await tenant.http.post(
        f"/v2/giftcards/programs/{program['id']}/cards/bulk",
        content=b'{"initialValue": ',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body"]


async def test_bad_program_id_in_path_is_422(tenant):
    response = await tenant.bulk("12345", OK)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "programId"]


async def test_body_over_the_limit_is_413(tenant, program):
    huge = {"initialValue": "1", "recipients": [{"customMessage": "m" * 500}] * 40_000}
    response = await tenant.bulk(program["id"], huge)
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


async def test_unknown_program_is_404(tenant):
    response = await tenant.bulk("f" * 24, OK)
    assert response.status_code == 404
    assert response.json()["code"] == "program_not_found"
