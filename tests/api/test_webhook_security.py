"""Webhook security: callback URLs checked against SSRF, Standard Webhooks signatures, and a
secret rotated with a grace period in which both secrets sign."""

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from app.domain.webhooks.signing import verify
from tests.fixtures.waiting import wait_until


@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/latest/meta-data/", "http://169.254.10.1/hook",
     "http://[fd00:ec2::254]/", "http://[fe80::1]/hook", "http://0.0.0.0:8080/hook"],
)  # fmt: skip
async def test_link_local_and_metadata_callbacks_are_422_even_in_development(tenant, url):
    response = await tenant.http.post(
        "/v2/giftcards/programs", json={"name": "Sneaky", "callbackUrl": url}
    )
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "callbackUrl"] and "refused" in error["msg"]
    programs = (await tenant.http.get("/v2/giftcards/programs", params={"limit": 100})).json()
    assert all(p["name"] != "Sneaky" for p in programs["data"])


async def test_loopback_and_private_callbacks_need_the_setting(deployment, new_tenant):
    api = deployment(ALLOW_PRIVATE_URLS="false").api()
    tenant = await new_tenant("Strict", base_url=api.base_url)
    for url in ("http://127.0.0.1:9000/hook", "http://localhost/hook", "http://10.0.0.5/hook"):
        response = await tenant.http.post(
            "/v2/giftcards/programs", json={"name": "Inside", "callbackUrl": url}
        )
        assert response.status_code == 422, url
        assert response.json()["detail"][0]["loc"] == ["body", "callbackUrl"]
    public = await tenant.http.post(
        "/v2/giftcards/programs", json={"name": "Outside", "callbackUrl": "https://shop.example/h"}
    )
    assert public.status_code == 201, public.text


async def _callback(tenant, receiver, path: str) -> tuple[dict, object]:
    program = await tenant.create_program(name=path, callbackUrl=receiver.at(path))
    task_id = (await tenant.bulk(program["id"], {"initialValue": 5, "count": 51})).json()["taskId"]
    await tenant.wait_task(task_id)
    [delivery] = await receiver.wait_for(path)
    return {"task_id": task_id}, delivery


async def test_a_standard_webhooks_receiver_verifies_our_calls(new_tenant, webhook_receiver):
    tenant = await new_tenant("Standard Receiver")
    assert tenant.webhook_secret.startswith("whsec_")
    sent, delivery = await _callback(tenant, webhook_receiver, "/std/verify")
    event = Webhook(tenant.webhook_secret).verify(delivery.body, delivery.headers)
    assert event["type"] == "bulk_issuance.completed"
    assert event["data"]["taskId"] == sent["task_id"]
    assert delivery.headers["webhook-id"] == event["id"]
    with pytest.raises(WebhookVerificationError):
        Webhook(tenant.webhook_secret).verify(delivery.body + b" ", delivery.headers)
    assert verify(tenant.webhook_secret, delivery.body, delivery.headers["giftcards-signature"])


async def test_a_rotated_secret_signs_with_both_during_the_grace_period(
    new_tenant, webhook_receiver
):
    tenant = await new_tenant("Rotating")
    old = tenant.webhook_secret
    rotated = await tenant.http.post(
        "/v2/webhooks/secret/rotate", json={"gracePeriodSeconds": 3600}
    )
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new.startswith("whsec_") and new != old
    assert rotated.json()["previousSecretExpiresAt"].endswith("Z")

    _, delivery = await _callback(tenant, webhook_receiver, "/std/grace")
    assert len(delivery.headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(delivery.body, delivery.headers)
        assert verify(secret, delivery.body, delivery.headers["giftcards-signature"])

    # no grace: from now on only the newest secret signs
    newest = (
        await tenant.http.post("/v2/webhooks/secret/rotate", json={"gracePeriodSeconds": 0})
    ).json()["secret"]
    _, after = await _callback(tenant, webhook_receiver, "/std/after")
    assert Webhook(newest).verify(after.body, after.headers)
    for stale in (old, new):
        with pytest.raises(WebhookVerificationError):
            Webhook(stale).verify(after.body, after.headers)
        assert not verify(stale, after.body, after.headers["giftcards-signature"])


async def test_bad_rotation_bodies_are_422(tenant):
    for body in ({"gracePeriodSeconds": -1}, {"gracePeriodSeconds": 8 * 86_400}):
        response = await tenant.http.post("/v2/webhooks/secret/rotate", json=body)
        assert response.status_code == 422, response.text


async def test_delivery_checks_the_address_again(deployment, new_tenant, webhook_receiver):
    """The URL passed when given (private allowed then); the worker, which doesn't allow it,
    refuses to connect: nothing reaches the receiver and the delivery says why."""
    d = deployment()
    api = d.api()
    d.start_worker({**d.env, "ALLOW_PRIVATE_URLS": "false"})
    tenant = await new_tenant("Rebound", base_url=api.base_url)
    program = await tenant.create_program(
        name="Rebound", callbackUrl=webhook_receiver.at("/std/rebound")
    )
    task_id = (await tenant.bulk(program["id"], {"initialValue": 5, "count": 51})).json()["taskId"]
    await tenant.wait_task(task_id)

    async def refused():
        task = (await tenant.http.get(f"/v2/giftcards/tasks/{task_id}")).json()
        error = (task.get("callback") or {}).get("lastError") or ""
        return task if "loopback" in error else None

    await wait_until(refused, timeout=60, message="the delivery refused at connection")
    assert webhook_receiver.received("/std/rebound") == []
