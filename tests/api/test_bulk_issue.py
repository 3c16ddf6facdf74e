"""Bulk issue, both paths around the threshold and both modes, against the real stack."""

import re
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse

import httpx
import pytest
from bson import ObjectId

from tests.api.csv_helpers import HEADER, RECIPIENT_HEADER, download_csv, luhn_ok
from tests.fixtures.waiting import wait_until


@pytest.fixture(scope="module")
async def program(tenant):
    return await tenant.create_program(name="Issuance", cardNumberPrefix="627199")


async def test_fifty_cards_are_issued_inline(tenant, program, db, vault):
    response = await tenant.bulk(program["id"], {"initialValue": "25.00", "count": 50})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["issuedCount"] == 50 and body["failedCount"] == 0
    numbers = [card["cardNumber"] for card in body["cards"]]
    assert len(set(numbers)) == 50
    for card in body["cards"]:
        number = card["cardNumber"]
        assert re.fullmatch(r"627199\d{13}", number) and luhn_ok(number)
        assert card["lastFourDigits"] == number[-4:]
        assert re.fullmatch(r"[0-9a-f]{24}", card["id"])
    rows, header = await download_csv(body["csvDownloadUrl"])
    assert header == HEADER
    assert [(r["id"], r["cardNumber"], r["lastFourDigits"]) for r in rows] == [
        (c["id"], c["cardNumber"], c["lastFourDigits"]) for c in body["cards"]
    ]
    assert {(r["initialValue"], r["currency"]) for r in rows} == {("25.00", "USD")}
    # at rest: minor units, a keyed hash and ciphertext, never the plain number
    issued = {"program_id": program["id"], "bulk_issuance_id": body["bulkIssuanceId"]}
    stored = list(db.cards.find(issued))
    assert len(stored) == 50
    for doc in stored:
        assert doc["initial_value"] == 2500 and doc["balance"] == 2500
        plain = vault.decrypt(doc["number_enc"], str(doc["_id"]))
        assert doc["number_hash"] == vault.fingerprint(plain)
        assert plain not in str(doc)
    issuance = await tenant.http.get(f"/v2/giftcards/bulk-issuances/{body['bulkIssuanceId']}")
    assert issuance.json()["status"] == "completed"
    assert issuance.json()["issuedCount"] == 50 and issuance.json()["taskId"] is None


async def test_fifty_one_cards_are_queued_and_polled(tenant, program):
    response = await tenant.bulk(program["id"], {"initialValue": 10, "count": 51})
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "pending"
    assert response.headers["Location"] == f"/v2/giftcards/tasks/{accepted['taskId']}"
    task = await tenant.wait_task(accepted["taskId"])
    assert task["status"] == "completed", task
    assert task["issuedCount"] == task["requestedCount"] == 51
    assert task["progress"] == 1.0 and task["mode"] == "count"
    assert task["startedAt"] and task["completedAt"] and task["error"] is None
    rows, header = await download_csv(task["csvDownloadUrl"])
    assert header == HEADER
    cards = await tenant.cards(program["id"], bulkIssuanceId=task["bulkIssuanceId"])
    assert len(rows) == len(cards) == 51
    assert {r["id"] for r in rows} == {c["id"] for c in cards}
    assert len({r["cardNumber"] for r in rows}) == 51
    assert all(luhn_ok(r["cardNumber"]) for r in rows)
    again = (await tenant.http.get(f"/v2/giftcards/tasks/{accepted['taskId']}")).json()
    assert again["csvDownloadUrl"] != task["csvDownloadUrl"] or again == task  # freshly signed


async def test_a_larger_queued_batch_spans_several_chunks(tenant, program):
    response = await tenant.bulk(program["id"], {"initialValue": "1.00", "count": 12_345})
    task = await tenant.wait_task(response.json()["taskId"], timeout=300)
    assert task["status"] == "completed"
    rows, _ = await download_csv(task["csvDownloadUrl"])
    assert len(rows) == 12_345
    assert len({r["cardNumber"] for r in rows}) == 12_345
    assert len({r["id"] for r in rows}) == 12_345


async def test_threshold_is_per_program(tenant):
    small = await tenant.create_program(name="Tiny threshold", syncThreshold=3)
    assert (await tenant.bulk(small["id"], {"initialValue": 1, "count": 3})).status_code == 201
    queued = await tenant.bulk(small["id"], {"initialValue": 1, "count": 4})
    assert queued.status_code == 202
    assert (await tenant.wait_task(queued.json()["taskId"]))["issuedCount"] == 4


async def test_card_view_never_shows_the_number(tenant, program):
    body = (
        await tenant.bulk(
            program["id"],
            {"initialValue": "7.50", "count": 2, "designTemplate": "winter", "isPhysical": False},
        )
    ).json()
    card = body["cards"][0]
    view = await tenant.http.get(f"/v2/giftcards/programs/{program['id']}/cards/{card['id']}")
    assert view.status_code == 200
    shown = view.json()
    assert card["cardNumber"] not in view.text
    assert shown["lastFourDigits"] == card["lastFourDigits"]
    assert shown["initialValue"] == shown["balance"] == "7.50"
    assert shown["designTemplate"] == "winter" and shown["status"] == "active"
    assert shown["recipient"] is None and shown["notification"] is None
    assert shown["bulkIssuanceId"] == body["bulkIssuanceId"]
    assert shown["expiresAt"].endswith("Z") and shown["createdAt"].endswith("Z")
    listing = await tenant.http.get(f"/v2/giftcards/programs/{program['id']}/cards")
    assert card["cardNumber"] not in listing.text


async def test_bulk_issuances_are_listed_newest_first(new_tenant):
    merchant = await new_tenant("Lister")
    prog = await merchant.create_program(name="L")
    ids = [
        (await merchant.bulk(prog["id"], {"initialValue": 1, "count": 1})).json()["bulkIssuanceId"]
        for _ in range(3)
    ]
    path = f"/v2/giftcards/programs/{prog['id']}/cards/bulk"
    first = (await merchant.http.get(path, params={"limit": 2})).json()
    second = (
        await merchant.http.get(path, params={"limit": 2, "cursor": first["nextCursor"]})
    ).json()
    assert [i["id"] for i in first["data"] + second["data"]] == ids[::-1]
    assert second["nextCursor"] is None
    one = first["data"][0]
    assert one["csvDownloadUrl"] and one["status"] == "completed" and one["initialValue"] == "1.00"


async def test_expires_at_defaults_to_a_year_and_can_be_set(tenant, program):
    body = (
        await tenant.bulk(
            program["id"], {"initialValue": 1, "count": 1, "expiresAt": "2030-01-02T03:04:05Z"}
        )
    ).json()
    rows, _ = await download_csv(body["csvDownloadUrl"])
    assert rows[0]["expiresAt"] == "2030-01-02T03:04:05.000Z"
    default = (await tenant.bulk(program["id"], {"initialValue": 1, "count": 1})).json()
    rows, _ = await download_csv(default["csvDownloadUrl"])
    issued = ObjectId(default["cards"][0]["id"]).generation_time
    assert 364 <= (_parse(rows[0]["expiresAt"]) - issued).days <= 365


def _parse(value: str):
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_altered_csv_link_is_refused(tenant, program):
    url = (await tenant.bulk(program["id"], {"initialValue": 1, "count": 1})).json()[
        "csvDownloadUrl"
    ]
    parts = urlparse(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    signature = query["X-Amz-Signature"]
    query["X-Amz-Signature"] = ("0" if signature[0] != "0" else "1") + signature[1:]
    async with httpx.AsyncClient() as client:
        assert (
            await client.get(urlunparse(parts._replace(query=urlencode(query))))
        ).status_code == 403
        other_key = url.replace(".csv?", "x.csv?")
        assert (await client.get(other_key)).status_code == 403
        assert (await client.get(url.split("?")[0])).status_code == 403


async def test_expired_csv_link_is_refused(start_api, start_worker, new_tenant):
    short = start_api({"CSV_LINK_TTL_SECONDS": "1"})
    merchant = await new_tenant("Short links", base_url=short.base_url)
    prog = await merchant.create_program(name="S")
    url = (await merchant.bulk(prog["id"], {"initialValue": 1, "count": 1})).json()[
        "csvDownloadUrl"
    ]

    async def refused() -> bool:
        async with httpx.AsyncClient() as client:
            return (await client.get(url)).status_code == 403

    await wait_until(refused, timeout=30, interval=0.25, message="link expired")
    short.stop()


async def test_recipients_inline_each_get_an_email(tenant, program, smtp):
    recipients = [
        {
            "customerEmail": f"friend{i}@example.com",
            "customerName": f"Friend {i}",
            "senderName": "Acme",
            "customMessage": f"Happy birthday #{i}",
        }
        for i in range(3)
    ]
    response = await tenant.bulk(program["id"], {"initialValue": "20.00", "recipients": recipients})
    assert response.status_code == 201, response.text
    body = response.json()
    rows, header = await download_csv(body["csvDownloadUrl"])
    assert header == RECIPIENT_HEADER
    assert [r["customerEmail"] for r in rows] == [r["customerEmail"] for r in recipients]
    for i, card in enumerate(body["cards"]):
        [mail] = await smtp.wait_for(lambda m, i=i: f"friend{i}@example.com" in m.rcpt_tos)
        text = mail.text()
        assert card["cardNumber"] in text and "20.00 USD" in text
        assert "Acme" in text and f"Happy birthday #{i}" in text

    async def all_sent() -> list | None:
        cards = await tenant.cards(program["id"], bulkIssuanceId=body["bulkIssuanceId"])
        return cards if all(c["notification"]["status"] == "sent" for c in cards) else None

    cards = await wait_until(all_sent, message="notifications recorded as sent")
    for card in cards:
        assert card["notification"]["channel"] == "email"
        assert card["notification"]["attempts"] == 1 and card["notification"]["sentAt"]
        assert card["recipient"]["customerName"].startswith("Friend")


async def test_recipients_queued_batch_notifies_everyone_once(tenant, program, smtp):
    recipients = [{"customerEmail": f"crowd{i}@example.com"} for i in range(60)]
    recipients += [{"customerPhone": "+14155550100", "customerName": "Texter"}, {}]
    response = await tenant.bulk(program["id"], {"initialValue": 5, "recipients": recipients})
    assert response.status_code == 202
    task = await tenant.wait_task(response.json()["taskId"])
    assert task["status"] == "completed" and task["mode"] == "recipients"
    mails = await smtp.wait_for(lambda m: m.rcpt_tos[0].startswith("crowd"), count=60)
    assert sorted(m.rcpt_tos[0] for m in mails) == sorted(
        r["customerEmail"] for r in recipients[:60]
    )

    async def settled() -> list | None:
        cards = await tenant.cards(program["id"], bulkIssuanceId=task["bulkIssuanceId"])
        pending = [c for c in cards if c["notification"] and c["notification"]["status"] != "sent"]
        return None if pending else cards

    cards = await wait_until(settled, message="all notifications sent")
    by_channel = {}
    for card in cards:
        channel = card["notification"]["channel"] if card["notification"] else None
        by_channel[channel] = by_channel.get(channel, 0) + 1
    assert by_channel == {"email": 60, "sms": 1, None: 1}


async def test_a_failing_notification_is_retried_and_never_unissues(
    start_api, start_worker, new_tenant, smtp, stack_env
):
    """The SMS gateway is down: the card stays issued, the notification is retried until its
    retry span is over, then fails."""
    dead = f"http://127.0.0.1:{_free_port()}/sms"
    overrides = {
        "SMS_PROVIDER": "webhook",
        "SMS_WEBHOOK_URL": dead,
        "NOTIFICATION_RETRY_BASE_SECONDS": "0.2",
        "NOTIFICATION_RETRY_MAX_DELAY_SECONDS": "0.2",
        "NOTIFICATION_RETRY_SPAN_SECONDS": "2",
        "SWEEP_INTERVAL_SECONDS": "1",
        "QUEUE_NAME": "arq:sms-outage",
    }
    broken_api = start_api(overrides)
    broken_worker = start_worker(overrides)
    merchant = await new_tenant("SMS outage", base_url=broken_api.base_url)
    prog = await merchant.create_program(name="SMS")
    body = await merchant.bulk(
        prog["id"], {"initialValue": 3, "recipients": [{"customerPhone": "+4915112345678"}]}
    )
    assert body.status_code == 201
    card_id = body.json()["cards"][0]["id"]

    async def failed() -> dict | None:
        card = await merchant.http.get(f"/v2/giftcards/programs/{prog['id']}/cards/{card_id}")
        note = card.json()["notification"]
        return card.json() if note["status"] == "failed" else None

    card = await wait_until(failed, timeout=60, message="notification marked failed")
    assert card["status"] == "active"
    assert card["notification"]["attempts"] >= 2  # retried, every 0.2 s, for 2 s
    assert "ConnectError" in card["notification"]["lastError"]
    assert card["notification"]["nextAttemptAt"] is None
    broken_worker.stop()
    broken_api.stop()


def _free_port() -> int:
    from scripts import devstack

    return devstack.free_port()


async def test_links_can_be_signed_for_a_public_s3_address(start_api, new_tenant, s3):
    """Behind compose the API reaches S3 as http://s3:8333 but clients use another address:
    links are signed for S3_PUBLIC_ENDPOINT_URL, and the store accepts them there."""
    public = s3.endpoint_url.replace("127.0.0.1", "localhost")
    api = start_api({"S3_PUBLIC_ENDPOINT_URL": public})
    merchant = await new_tenant("Public links", base_url=api.base_url)
    prog = await merchant.create_program(name="Pub")
    body = (await merchant.bulk(prog["id"], {"initialValue": 1, "count": 2})).json()
    assert body["csvDownloadUrl"].startswith(public + "/")
    rows, _ = await download_csv(body["csvDownloadUrl"])
    assert [r["cardNumber"] for r in rows] == [c["cardNumber"] for c in body["cards"]]
    api.stop()
