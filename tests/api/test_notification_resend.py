"""Sending recipients' notifications again: one card, or a batch's failed ones."""

import secrets

from bson import ObjectId

from tests.fixtures.waiting import wait_until

FAST_RETRIES = {
    "NOTIFICATION_RETRY_BASE_SECONDS": "0.2",
    "NOTIFICATION_RETRY_MAX_DELAY_SECONDS": "0.5",
    "SWEEP_INTERVAL_SECONDS": "1",
}


def _card_resend(program_id: str, card_id: str) -> str:
    return f"/v2/giftcards/programs/{program_id}/cards/{card_id}/notification/resend"


def _batch_resend(issuance_id: str) -> str:
    return f"/v2/giftcards/bulk-issuances/{issuance_id}/notifications/resend"


async def _sms_tenant(deployment, new_tenant, webhook_receiver, path, **env):
    d = deployment(
        SMS_PROVIDER="webhook", SMS_WEBHOOK_URL=webhook_receiver.at(path), **FAST_RETRIES, **env
    )
    api, _ = d.api(), d.worker()
    tenant = await new_tenant("Resends", base_url=api.base_url)
    return tenant, await tenant.create_program(name="Resends")


async def _issue_sms(tenant, program, phones: list[str]) -> dict:
    recipients = [{"customerPhone": phone} for phone in phones]
    response = await tenant.bulk(program["id"], {"initialValue": "8.00", "recipients": recipients})
    assert response.status_code == 201, response.text
    return response.json()


async def _all_notifications(tenant, program, issuance_id, status) -> dict[str, dict]:
    """card id → its notification, once every card's is `status`."""

    async def check() -> dict[str, dict] | None:
        cards = await tenant.cards(program["id"], bulkIssuanceId=issuance_id)
        notes = {c["id"]: c["notification"] for c in cards}
        return notes if all(n["status"] == status for n in notes.values()) else None

    return await wait_until(check, timeout=60, message=f"notifications {status}")


async def test_a_sent_notification_is_sent_again_on_resend(
    deployment, new_tenant, webhook_receiver
):
    path = f"/sms-{secrets.token_hex(4)}"
    tenant, program = await _sms_tenant(deployment, new_tenant, webhook_receiver, path)
    body = await _issue_sms(tenant, program, ["+14155550121", "+14155550122"])
    first, other = body["cards"]
    await webhook_receiver.wait_for(path, count=2)
    before = await _all_notifications(tenant, program, body["bulkIssuanceId"], "sent")

    response = await tenant.http.post(_card_resend(program["id"], first["id"]))
    assert response.status_code == 202, response.text
    note = response.json()
    assert note["status"] == "pending" and note["attempts"] == 0 and note["nextAttemptAt"]

    deliveries = await webhook_receiver.wait_for(path, count=3)
    to_first = [d for d in deliveries if d.json()["to"] == "+14155550121"]
    assert len(to_first) == 2 and first["cardNumber"] in to_first[1].json()["text"]
    assert len([d for d in deliveries if d.json()["to"] == "+14155550122"]) == 1
    after = await _all_notifications(tenant, program, body["bulkIssuanceId"], "sent")
    assert after[first["id"]]["attempts"] == 1
    assert after[first["id"]]["sentAt"] > before[first["id"]]["sentAt"]
    assert after[other["id"]] == before[other["id"]]  # the other card was left alone


async def test_a_batch_resend_sends_its_failed_notifications_once_the_gateway_works(
    deployment, new_tenant, webhook_receiver
):
    path = f"/sms-{secrets.token_hex(4)}"
    webhook_receiver.fail_at[path] = 10**6
    try:
        tenant, program = await _sms_tenant(
            deployment, new_tenant, webhook_receiver, path, NOTIFICATION_RETRY_SPAN_SECONDS="1"
        )
        body = await _issue_sms(tenant, program, ["+14155550131", "+14155550132"])
        batch = body["bulkIssuanceId"]
        failed = await _all_notifications(tenant, program, batch, "failed")
        assert all("500" in n["lastError"] for n in failed.values())
        webhook_receiver.fail_at[path] = 0

        response = await tenant.http.post(_batch_resend(batch))
        assert response.status_code == 202, response.text
        assert response.json() == {"requeued": 2}
        again = await tenant.http.post(_batch_resend(batch))  # nothing is failed any more
        assert again.status_code == 202 and again.json() == {"requeued": 0}

        deliveries = await webhook_receiver.wait_for(path, count=2)
        assert sorted(d.json()["to"] for d in deliveries) == ["+14155550131", "+14155550132"]
        sent = await _all_notifications(tenant, program, batch, "sent")
        assert [n["attempts"] for n in sent.values()] == [1, 1]
        assert len(webhook_receiver.received(path)) == 2
    finally:
        webhook_receiver.fail_at.pop(path, None)


async def test_resend_answers_404_409_and_422_for_what_it_cannot_send(tenant, other_tenant):
    program = await tenant.create_program(name="Resend errors")
    by_count = (await tenant.bulk(program["id"], {"initialValue": 2, "count": 1})).json()
    plain_card = by_count["cards"][0]["id"]
    with_recipient = (
        await tenant.bulk(
            program["id"],
            {"initialValue": 2, "recipients": [{"customerEmail": "resend@example.com"}]},
        )
    ).json()
    recipient_card = with_recipient["cards"][0]["id"]

    response = await tenant.http.post(_card_resend(program["id"], plain_card))
    assert response.status_code == 409 and response.json()["code"] == "no_recipient"
    response = await tenant.http.post(_batch_resend(by_count["bulkIssuanceId"]))
    assert response.status_code == 409 and response.json()["code"] == "no_recipients"

    for card_id in (recipient_card, str(ObjectId())):
        response = await other_tenant.http.post(_card_resend(program["id"], card_id))
        assert response.status_code == 404 and response.json()["code"] == "card_not_found"
    response = await tenant.http.post(_card_resend(str(ObjectId()), recipient_card))
    assert response.status_code == 404
    for batch in (with_recipient["bulkIssuanceId"], str(ObjectId())):
        response = await other_tenant.http.post(_batch_resend(batch))
        assert response.status_code == 404 and response.json()["code"] == "bulk_issuance_not_found"
    response = await tenant.http.post(_card_resend(program["id"], "not-an-id"))
    assert response.status_code == 422
