"""Phones as merchants type them (normalised to E.164 in the program's phoneRegion, a 422 at
the field for one that is not a number), and the program's notification channels for a
recipient with both an email and a phone, against the real SMTP server and SMS gateway."""

import secrets

import pytest

from tests.fixtures.waiting import wait_until

# A retry schedule in seconds (tests/workers/test_notifications.py)
FAST_RETRIES = {
    "NOTIFICATION_RETRY_BASE_SECONDS": "0.2",
    "NOTIFICATION_RETRY_MAX_DELAY_SECONDS": "0.5",
    "SWEEP_INTERVAL_SECONDS": "1",
}


async def _issue(tenant, program_id: str, recipients: list[dict]):
    return await tenant.bulk(program_id, {"initialValue": "7.00", "recipients": recipients})


@pytest.mark.parametrize(
    "region, typed, stored",
    [
        (None, "(415) 555-0100", "+14155550100"),
        (None, "415.555.0101", "+14155550101"),
        (None, "+1 415 555 0102", "+14155550102"),
        ("GB", "020 7946 0958", "+442079460958"),
        ("GB", "+49 1512 3456789", "+4915123456789"),  # an international number, any region
        ("DE", "01512 3456789", "+4915123456789"),
    ],
)
async def test_a_local_phone_is_stored_in_e164(tenant, region, typed, stored):
    program = await tenant.create_program(
        name=f"Phones {region}", **({"phoneRegion": region} if region else {})
    )
    response = await _issue(tenant, program["id"], [{"customerPhone": typed}])
    assert response.status_code == 201, response.text
    card = (await tenant.cards(program["id"]))[0]
    assert card["recipient"]["customerPhone"] == stored
    assert card["notification"]["channel"] == "sms"


async def test_the_region_is_the_programs_as_patched(tenant):
    program = await tenant.create_program(name="Moves to London")
    local = [{"customerPhone": "020 7946 0958"}]
    refused = await _issue(tenant, program["id"], local)
    assert refused.status_code == 422, refused.text  # not a US number
    patched = await tenant.http.patch(
        f"/v2/giftcards/programs/{program['id']}", json={"phoneRegion": "GB"}
    )
    assert patched.status_code == 200, patched.text
    assert (await _issue(tenant, program["id"], local)).status_code == 201


async def test_a_phone_that_is_not_a_number_is_422_at_its_field_and_nothing_is_issued(tenant):
    program = await tenant.create_program(name="Bad phones")
    recipients = [
        {"customerPhone": "(415) 555-0100"},
        {"customerPhone": "call me maybe"},
        {"customerEmail": "fine@example.com"},
        {"customerPhone": "555-1234"},  # too short to be a US number
    ]
    response = await _issue(tenant, program["id"], recipients)
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert [e["loc"] for e in errors] == [
        ["body", "recipients", 1, "customerPhone"],
        ["body", "recipients", 3, "customerPhone"],
    ]
    assert errors[0]["input"] == "call me maybe"
    assert await tenant.cards(program["id"]) == []


async def test_the_schema_no_longer_claims_e164_for_the_request(anon):
    spec = (await anon.get("/schema/openapi.json")).json()
    phone = spec["components"]["schemas"]["BulkIssueRecipient"]["properties"]["customerPhone"]
    assert "pattern" not in str(phone) and "phoneRegion" in str(phone)


# --------------------------------------------------------------------------- channels


async def test_a_recipient_with_email_and_phone_gets_the_programs_channels(
    deployment, new_tenant, webhook_receiver, smtp
):
    path = f"/sms-{secrets.token_hex(4)}"
    d = deployment(SMS_PROVIDER="webhook", SMS_WEBHOOK_URL=webhook_receiver.at(path))
    api, _ = d.api(), d.worker()
    tenant = await new_tenant("Channels", base_url=api.base_url)
    tag = secrets.token_hex(4)
    choices = {"both": None, "sms": ["sms"], "email": ["email"]}
    phones = {"both": "(415) 555-0110", "sms": "(415) 555-0111", "email": "(415) 555-0112"}
    for name, channels in choices.items():
        program = await tenant.create_program(
            name=f"Channels {name}", **({"notificationChannels": channels} if channels else {})
        )
        recipient = {"customerEmail": f"{name}-{tag}@example.com", "customerPhone": phones[name]}
        response = await _issue(tenant, program["id"], [recipient])
        assert response.status_code == 201, response.text
        choices[name] = program["id"]  # type: ignore[assignment]

    async def all_sent() -> bool:
        for program_id in choices.values():
            card = (await tenant.cards(program_id))[0]
            if card["notification"]["status"] != "sent":
                return False
        return True

    await wait_until(all_sent, message="every notification sent")
    texted = sorted(delivery.json()["to"] for delivery in webhook_receiver.received(path))
    assert texted == ["+14155550110", "+14155550111"]
    mailed = sorted(m.rcpt_tos[0] for m in smtp.find(lambda m: tag in m.rcpt_tos[0]))
    assert mailed == [f"both-{tag}@example.com", f"email-{tag}@example.com"]
    shown = (await tenant.cards(choices["both"]))[0]["notification"]
    assert shown["channels"] == ["email", "sms"]


async def test_a_failed_sms_is_retried_without_sending_the_email_again(
    deployment, new_tenant, webhook_receiver, smtp
):
    path = f"/sms-{secrets.token_hex(4)}"
    webhook_receiver.fail_at[path] = 2  # the gateway refuses the first two tries
    d = deployment(
        SMS_PROVIDER="webhook", SMS_WEBHOOK_URL=webhook_receiver.at(path), **FAST_RETRIES
    )
    api, _ = d.api(), d.worker()
    tenant = await new_tenant("Retried channels", base_url=api.base_url)
    program = await tenant.create_program(name="Both channels")
    email = f"once-{secrets.token_hex(4)}@example.com"
    response = await _issue(
        tenant, program["id"], [{"customerEmail": email, "customerPhone": "(415) 555-0120"}]
    )
    assert response.status_code == 201, response.text

    async def sent() -> dict | None:
        note = (await tenant.cards(program["id"]))[0]["notification"]
        return note if note["status"] == "sent" else None

    note = await wait_until(sent, message="the notification sent after the SMS retries")
    assert note["attempts"] == 3
    assert webhook_receiver.attempts_at[path] == 3
    assert len(webhook_receiver.received(path)) == 1
    assert len(smtp.to(email)) == 1
