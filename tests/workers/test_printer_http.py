"""The `http` printer provider: a signed notice POSTed to PRINTER_URL, retried until it lands."""

from app.domain.webhooks.signing import verify
from tests.api.csv_helpers import download_csv
from tests.fixtures.printer import shipping_config
from tests.fixtures.waiting import wait_until

SIGNATURE = "giftcards-printer-signature"


async def test_the_http_printer_gets_a_signed_notice_after_a_failed_try(
    deployment, new_tenant, webhook_receiver, stack_env
):
    path = "/printer/orders"
    d = deployment(
        PRINTER_PROVIDER="http",
        PRINTER_URL=webhook_receiver.at(path),
        JOB_RETRY_MAX_DELAY_SECONDS="1",
    )
    api, _ = d.api(), d.worker()
    tenant = await new_tenant("Http printer", base_url=api.base_url)
    program = await tenant.create_program(name="Plastic")
    config = (
        await tenant.http.post("/v2/giftcards/shipping-configs", json=shipping_config())
    ).json()
    body = {"initialValue": "5.00", "count": 5, "isPhysical": True}
    issued = await tenant.bulk(program["id"], {**body, "shippingConfigId": config["id"]})
    assert issued.status_code == 201, issued.text

    webhook_receiver.fail_at[path] = 1  # the printer's first answer is a 500
    fulfilled = await tenant.http.post(f"/v2/giftcards/shipping-configs/{config['id']}/fulfill")
    assert fulfilled.status_code == 202, fulfilled.text
    order_id = fulfilled.json()["fulfillmentOrderId"]

    async def submitted():
        order = (await tenant.http.get(f"/v2/giftcards/fulfillment-orders/{order_id}")).json()
        return order if order["status"] != "PENDING" else None

    order = await wait_until(submitted, timeout=60, message=f"order {order_id} submitted")
    assert order["status"] == "SUBMITTED", order
    assert order["submission"]["provider"] == "http"
    assert order["submission"]["attempts"] >= 2 and webhook_receiver.fail_at[path] == 0
    assert order["submission"]["location"] == webhook_receiver.at(path)

    (notice,) = webhook_receiver.received(path)
    assert verify(stack_env["PRINTER_SECRET"], notice.body, notice.headers[SIGNATURE])
    assert not verify("another secret", notice.body, notice.headers[SIGNATURE])
    sent = notice.json()
    assert (sent["orderId"], sent["cardCount"]) == (order_id, 5)
    assert sent["shipping"]["address"]["city"] == "New York"
    rows, _ = await download_csv(sent["manifestUrl"])  # the presigned link works as sent
    numbers = {c["id"]: c["cardNumber"] for c in issued.json()["cards"]}
    assert {r["cardId"]: r["cardNumber"] for r in rows} == numbers
