"""Scheduled activation: `activatesAt` on a bulk request (or the program's activationOffset)
keeps the cards `scheduled` until then; at that time one range update per batch makes them
`active` in the database, no job per card."""

from datetime import UTC, datetime, timedelta

from tests.fixtures.waiting import wait_until


def _at(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat().replace("+00:00", "Z")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _stored_statuses(db, program_id: str, issuance_id: str) -> list[str]:
    match = {"program_id": program_id, "bulk_issuance_id": issuance_id}
    return [
        d["status"] for d in db.cards.aggregate([{"$match": match}, {"$project": {"status": 1}}])
    ]


async def _activated_in_db(db, program_id: str, issuance_id: str, n: int) -> None:
    async def all_active():
        statuses = _stored_statuses(db, program_id, issuance_id)
        return len(statuses) == n and set(statuses) == {"active"}

    await wait_until(all_active, timeout=60, message="the batch's cards stored active")


async def test_scheduled_cards_become_active_on_time_inline_and_queued(deployment, new_tenant, db):
    d = deployment(SWEEP_INTERVAL_SECONDS="1")
    api = d.api()
    d.worker()
    tenant = await new_tenant("Scheduled", base_url=api.base_url)
    program = await tenant.create_program(name="Scheduled", syncThreshold=10)
    pid = program["id"]

    inline = await tenant.bulk(pid, {"initialValue": 5, "count": 3, "activatesAt": _at(seconds=6)})
    assert inline.status_code == 201, inline.text
    batch_id = inline.json()["bulkIssuanceId"]
    card_id = inline.json()["cards"][0]["id"]
    card = (await tenant.http.get(f"/v2/giftcards/programs/{pid}/cards/{card_id}")).json()
    batch = (await tenant.http.get(f"/v2/giftcards/bulk-issuances/{batch_id}")).json()
    activates = _parse(batch["activatesAt"])
    if datetime.now(UTC) < activates:  # read before its time (a slow machine may be past it)
        assert card["status"] == "scheduled" and batch["cardStatus"] == "scheduled"
        assert set(_stored_statuses(db, pid, batch_id)) == {"scheduled"}

    queued = await tenant.bulk(pid, {"initialValue": 5, "count": 40, "activatesAt": _at(seconds=8)})
    assert queued.status_code == 202, queued.text
    task = await tenant.wait_task(queued.json()["taskId"])
    assert task["status"] == "completed"

    await _activated_in_db(db, pid, batch_id, 3)
    assert datetime.now(UTC) >= activates  # not before its time
    card = (await tenant.http.get(f"/v2/giftcards/programs/{pid}/cards/{card_id}")).json()
    batch = (await tenant.http.get(f"/v2/giftcards/bulk-issuances/{batch_id}")).json()
    assert card["status"] == "active" and batch["cardStatus"] == "active"
    await _activated_in_db(db, pid, task["bulkIssuanceId"], 40)


async def test_a_program_offset_schedules_and_bad_times_are_refused(deployment, new_tenant, db):
    d = deployment()
    api = d.api()
    tenant = await new_tenant("Scheduled by program", base_url=api.base_url)
    offset = {"unit": "HOURS", "value": 2}
    program = await tenant.create_program(
        name="Two hours", syncThreshold=10, activationOffset=offset
    )
    assert program["activationOffset"] == offset
    pid = program["id"]
    before = datetime.now(UTC)
    issued = await tenant.bulk(pid, {"initialValue": 5, "count": 2})
    assert issued.status_code == 201, issued.text
    batch_id = issued.json()["bulkIssuanceId"]
    batch = (await tenant.http.get(f"/v2/giftcards/bulk-issuances/{batch_id}")).json()
    activates = _parse(batch["activatesAt"])
    assert before + timedelta(hours=2) - timedelta(seconds=1) <= activates
    assert activates <= datetime.now(UTC) + timedelta(hours=2)
    cards = await tenant.cards(pid, bulkIssuanceId=batch_id)
    assert [c["status"] for c in cards] == ["scheduled", "scheduled"]

    past = await tenant.bulk(pid, {"initialValue": 5, "count": 2, "activatesAt": _at(seconds=-5)})
    assert past.status_code == 422 and past.json()["detail"][0]["loc"] == ["body", "activatesAt"]
    late = {"initialValue": 5, "count": 2, "expiresAt": _at(days=3), "activatesAt": _at(days=4)}
    refused = await tenant.bulk(pid, late)
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"][0]["loc"] == ["body", "activatesAt"]
    assert len(await tenant.cards(pid)) == 2  # a refused request issues nothing

    # activating the batch early is the merchant's call: its cards are active at once
    early = await tenant.http.post(f"/v2/giftcards/bulk-issuances/{batch_id}/activate")
    assert early.status_code == 200, early.text
    assert early.json()["cardStatus"] == "active"
    assert set(_stored_statuses(db, pid, batch_id)) == {"active"}
