"""The completion callback: signed, retried, its state on the task."""

import json

from app.domain.webhooks.signing import verify
from tests.fixtures.waiting import wait_until


async def _callback_state(tenant, task_id, status):
    async def check():
        task = (await tenant.http.get(f"/v2/giftcards/tasks/{task_id}")).json()
        return task if task["callback"] and task["callback"]["status"] == status else None

    return await wait_until(check, timeout=60, message=f"callback {status}")


async def test_completed_task_is_posted_signed(tenant, webhook_receiver):
    program = await tenant.create_program(name="Hooked", callbackUrl=webhook_receiver.at("/cb/ok"))
    task_id = (await tenant.bulk(program["id"], {"initialValue": 3, "count": 60})).json()["taskId"]
    await tenant.wait_task(task_id)
    [delivery] = await webhook_receiver.wait_for("/cb/ok")
    signature = delivery.headers["giftcards-signature"]
    assert verify(tenant.webhook_secret, delivery.body, signature)
    assert not verify(tenant.webhook_secret, delivery.body + b" ", signature)
    assert not verify("whsec_wrong", delivery.body, signature)
    event = json.loads(delivery.body)
    assert event["type"] == "bulk_issuance.completed"
    assert event["id"] == f"task-{task_id}"
    assert event["data"]["taskId"] == task_id and event["data"]["issuedCount"] == 60
    assert event["data"]["csvDownloadUrl"]
    task = await _callback_state(tenant, task_id, "delivered")
    assert task["callback"]["attempts"] == 1 and task["callback"]["deliveredAt"]


async def test_failed_deliveries_are_retried(tenant, webhook_receiver):
    program = await tenant.create_program(
        name="Flaky", callbackUrl=webhook_receiver.at("/cb/flaky")
    )
    webhook_receiver.fail_next = 2
    task_id = (await tenant.bulk(program["id"], {"initialValue": 3, "count": 55})).json()["taskId"]
    await tenant.wait_task(task_id)
    task = await _callback_state(tenant, task_id, "delivered")
    assert task["callback"]["attempts"] == 3
    assert len(webhook_receiver.received("/cb/flaky")) == 1
