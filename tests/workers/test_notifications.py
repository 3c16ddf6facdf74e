"""SMS through the webhook provider, against a real HTTP receiver."""

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
