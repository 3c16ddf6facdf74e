"""Recipient notifications against real receivers: SMS through the webhook provider, and the
schedule of retries kept on the card."""

import secrets
import time

from bson import ObjectId

from tests.fixtures.waiting import wait_until


async def test_sms_goes_to_the_gateway_once_with_an_idempotency_key(
    deployment, new_tenant, webhook_receiver
):
    d = deployment(SMS_PROVIDER="webhook", SMS_WEBHOOK_URL=webhook_receiver.at("/sms"))
    api, _ = d.api(), d.worker()
    tenant = await new_tenant("Texts", base_url=api.base_url)
    program = await tenant.create_program(name="SMS")
    recipients = [{"customerPhone": f"+1415555010{i}", "senderName": "Acme"} for i in range(3)]
    body = await tenant.bulk(program["id"], {"initialValue": "15.00", "recipients": recipients})
    cards = body.json()["cards"]
    deliveries = await webhook_receiver.wait_for("/sms", count=3)
    by_phone = {d.json()["to"]: d for d in deliveries}
    assert set(by_phone) == {r["customerPhone"] for r in recipients}
    for card, recipient in zip(cards, recipients, strict=True):
        delivery = by_phone[recipient["customerPhone"]]
        assert card["cardNumber"] in delivery.json()["text"]
        assert "15.00 USD" in delivery.json()["text"]
        assert delivery.headers["idempotency-key"] == f"card-{card['id']}"

    async def all_sent():
        listed = await tenant.cards(program["id"])
        return all(c["notification"]["status"] == "sent" for c in listed)

    await wait_until(all_sent, message="SMS notifications recorded as sent")
    assert len(webhook_receiver.received("/sms")) == 3


# --------------------------------------------------------------------------- the schedule

# A schedule in seconds instead of hours: waits 0.2 s doubling to 0.5 s, the sweep every second.
FAST_RETRIES = {
    "NOTIFICATION_RETRY_BASE_SECONDS": "0.2",
    "NOTIFICATION_RETRY_MAX_DELAY_SECONDS": "0.5",
    "SWEEP_INTERVAL_SECONDS": "1",
}


def _sms_path() -> str:
    return f"/sms-{secrets.token_hex(4)}"  # the receiver is the session's: a path per test


async def _sms_deployment(deployment, new_tenant, webhook_receiver, path, **env):
    d = deployment(SMS_PROVIDER="webhook", SMS_WEBHOOK_URL=webhook_receiver.at(path), **env)
    api, _ = d.api(), d.worker()
    tenant = await new_tenant("Patient texts", base_url=api.base_url)
    program = await tenant.create_program(name="SMS")
    return d, tenant, program


async def _issue_sms(tenant, program, phone: str) -> dict:
    response = await tenant.bulk(
        program["id"], {"initialValue": "15.00", "recipients": [{"customerPhone": phone}]}
    )
    assert response.status_code == 201, response.text
    return response.json()["cards"][0]


async def _notification(tenant, program, card_id, wanted) -> dict:
    async def check() -> dict | None:
        card = await tenant.http.get(f"/v2/giftcards/programs/{program['id']}/cards/{card_id}")
        note = card.json()["notification"]
        return note if wanted(note) else None

    return await wait_until(check, timeout=90, message="notification state")


async def test_a_gateway_down_for_more_than_eight_tries_still_delivers_exactly_once(
    deployment, new_tenant, webhook_receiver
):
    path = _sms_path()
    webhook_receiver.fail_at[path] = 10  # the gateway answers 500 ten times, then works
    _, tenant, program = await _sms_deployment(
        deployment, new_tenant, webhook_receiver, path, **FAST_RETRIES
    )
    card = await _issue_sms(tenant, program, "+14155550111")

    waiting = await _notification(
        tenant, program, card["id"], lambda n: n["status"] == "pending" and n["attempts"] >= 2
    )
    assert "500" in waiting["lastError"] and waiting["nextAttemptAt"]

    [delivery] = await webhook_receiver.wait_for(path, timeout=90)
    assert card["cardNumber"] in delivery.json()["text"]
    note = await _notification(tenant, program, card["id"], lambda n: n["status"] == "sent")
    assert note["attempts"] == 11  # ten refused, the eleventh went out
    assert note["lastError"] is None and note["sentAt"] and note["nextAttemptAt"] is None
    assert webhook_receiver.fail_at[path] == 0
    assert len(webhook_receiver.received(path)) == 1


async def test_past_its_retry_span_a_notification_fails_with_its_last_error(
    deployment, new_tenant, webhook_receiver
):
    path = _sms_path()
    webhook_receiver.fail_at[path] = 10**6  # down for good
    try:
        _, tenant, program = await _sms_deployment(
            deployment,
            new_tenant,
            webhook_receiver,
            path,
            NOTIFICATION_RETRY_SPAN_SECONDS="3",
            **FAST_RETRIES,
        )
        started = time.monotonic()
        card = await _issue_sms(tenant, program, "+14155550112")
        note = await _notification(tenant, program, card["id"], lambda n: n["status"] == "failed")
        # retried until the next try would fall past the span (waits are at most 0.5 s)
        assert time.monotonic() - started >= 3 - 0.5
        assert note["attempts"] >= 2
        assert "HTTPStatusError" in note["lastError"] and "500" in note["lastError"]
        assert note["nextAttemptAt"] is None and note["sentAt"] is None
        assert webhook_receiver.received(path) == []
    finally:
        webhook_receiver.fail_at.pop(path, None)


async def test_a_retry_survives_a_queue_that_lost_every_job(
    deployment, new_tenant, webhook_receiver, redis_server
):
    """The schedule is on the card: a worker restart over an emptied queue still sends."""
    path = _sms_path()
    webhook_receiver.fail_at[path] = 10**6
    try:
        d, tenant, program = await _sms_deployment(
            deployment, new_tenant, webhook_receiver, path, **FAST_RETRIES
        )
        card = await _issue_sms(tenant, program, "+14155550113")
        await _notification(tenant, program, card["id"], lambda n: n["attempts"] >= 2)
        d.workers[0].stop()
        redis = redis_server.client()
        redis.delete(d.env["QUEUE_NAME"], *redis.keys(f"arq:*{card['id']}*"))
        webhook_receiver.fail_at[path] = 0
        d.worker()
        [delivery] = await webhook_receiver.wait_for(path, timeout=30)
        assert card["cardNumber"] in delivery.json()["text"]
        await _notification(tenant, program, card["id"], lambda n: n["status"] == "sent")
    finally:
        webhook_receiver.fail_at.pop(path, None)


async def test_a_try_that_died_mid_way_is_taken_again_once_its_lease_runs_out(
    deployment, new_tenant, webhook_receiver, db
):
    """`sending` with its lease still running is a try under way: nobody else sends it. Once
    the lease is over the try counts as dead, and the next one knows it may have gone out."""
    path = _sms_path()
    webhook_receiver.fail_at[path] = 10**6
    try:
        d, tenant, program = await _sms_deployment(
            deployment, new_tenant, webhook_receiver, path, **FAST_RETRIES
        )
        card = await _issue_sms(tenant, program, "+14155550114")
        await _notification(tenant, program, card["id"], lambda n: n["attempts"] >= 1)
        d.workers[0].stop()
        tried = await _notification(tenant, program, card["id"], lambda n: True)
        lease = int(time.time() * 1000) + 3000  # a try that died, holding the card 3 s more
        db.cards.update_one(
            {"_id": ObjectId(card["id"])},
            {"$set": {"notification.status": "sending", "notification.nextAttemptMs": lease}},
        )
        webhook_receiver.fail_at[path] = 0
        worker = d.worker()
        [delivery] = await webhook_receiver.wait_for(path, timeout=30)
        assert time.time() * 1000 >= lease  # not before the lease ran out
        assert card["cardNumber"] in delivery.json()["text"]
        note = await _notification(tenant, program, card["id"], lambda n: n["status"] == "sent")
        assert note["attempts"] == tried["attempts"] + 1
        assert "an earlier try may have sent it" in worker.log_text()
    finally:
        webhook_receiver.fail_at.pop(path, None)
