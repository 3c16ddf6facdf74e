"""Deactivate / activate a whole bulk issuance: inline (200) and queued (202 + task)."""

import asyncio
import uuid

from bson import ObjectId

from tests.fixtures.printer import shipping_config
from tests.fixtures.waiting import wait_until


def _switch_url(issuance_id: str, action: str) -> str:
    return f"/v2/giftcards/bulk-issuances/{issuance_id}/{action}"


async def _switch(tenant, issuance_id: str, action: str, key: str | None = None):
    headers = {"Idempotency-Key": key} if key else {}
    return await tenant.http.post(_switch_url(issuance_id, action), headers=headers)


async def _statuses(tenant, program_id: str, issuance_id: str) -> list[str]:
    return [c["status"] for c in await tenant.cards(program_id, bulkIssuanceId=issuance_id)]


async def _inline_batch(tenant, count: int = 10, **extra) -> tuple[dict, str]:
    program = await tenant.create_program(name="Switch inline")
    issued = await tenant.bulk(program["id"], {"initialValue": "5.00", "count": count, **extra})
    assert issued.status_code == 201, issued.text
    return program, issued.json()["bulkIssuanceId"]


async def test_inline_deactivate_then_activate(tenant):
    program, issuance_id = await _inline_batch(tenant)
    assert await _statuses(tenant, program["id"], issuance_id) == ["active"] * 10

    off = await _switch(tenant, issuance_id, "deactivate")
    assert off.status_code == 200, off.text
    body = off.json()
    assert body["id"] == issuance_id and body["cardStatus"] == "inactive"
    assert body["issuedCount"] == 10 and body["status"] == "completed"
    assert await _statuses(tenant, program["id"], issuance_id) == ["inactive"] * 10
    one = (await tenant.cards(program["id"], bulkIssuanceId=issuance_id))[3]
    card = await tenant.http.get(f"/v2/giftcards/programs/{program['id']}/cards/{one['id']}")
    assert card.status_code == 200 and card.json()["status"] == "inactive"
    got = (await tenant.http.get(f"/v2/giftcards/bulk-issuances/{issuance_id}")).json()
    assert got["cardStatus"] == "inactive"
    # the change is a task like any other, already completed
    task = (await tenant.http.get(f"/v2/giftcards/tasks/{body['statusChangeTaskId']}")).json()
    assert task["type"] == "deactivate" and task["status"] == "completed"
    assert task["bulkIssuanceId"] == issuance_id and task["progress"] == 1.0
    assert task["requestedCount"] == task["issuedCount"] == 10

    again = await _switch(tenant, issuance_id, "deactivate")  # nothing to do, no harm
    assert again.status_code == 200 and again.json()["cardStatus"] == "inactive"
    assert again.json()["statusChangeTaskId"] == body["statusChangeTaskId"]

    on = await _switch(tenant, issuance_id, "activate")
    assert on.status_code == 200, on.text
    assert on.json()["cardStatus"] == "active"
    assert on.json()["statusChangeTaskId"] != body["statusChangeTaskId"]
    assert await _statuses(tenant, program["id"], issuance_id) == ["active"] * 10


async def test_idempotency_key_replays_the_switch(tenant):
    program, issuance_id = await _inline_batch(tenant, count=3)
    key = str(uuid.uuid4())
    first = await _switch(tenant, issuance_id, "deactivate", key)
    assert first.status_code == 200, first.text
    assert (await _switch(tenant, issuance_id, "activate")).status_code == 200
    replay = await _switch(tenant, issuance_id, "deactivate", key)
    assert replay.status_code == 200 and replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json() == first.json()
    # a replay answers, it does not switch the cards again
    assert await _statuses(tenant, program["id"], issuance_id) == ["active"] * 3
    reused = await _switch(tenant, issuance_id, "activate", key)
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"


async def test_concurrent_requests_make_one_change(tenant, db):
    program, issuance_id = await _inline_batch(tenant, count=20)
    answers = await asyncio.gather(*(_switch(tenant, issuance_id, "deactivate") for _ in range(6)))
    assert {a.status_code for a in answers} <= {200, 202}, [a.text for a in answers]
    changes = list(db.status_changes.find({"bulk_issuance_id": issuance_id}))
    assert len(changes) == 1 and changes[0]["status"] == "completed"
    assert await _statuses(tenant, program["id"], issuance_id) == ["inactive"] * 20


async def test_ordered_physical_cards_stay_in_their_order(tenant):
    created = await tenant.http.post("/v2/giftcards/shipping-configs", json=shipping_config())
    assert created.status_code == 201, created.text
    config_id = created.json()["id"]
    body = {"isPhysical": True, "shippingConfigId": config_id}
    program, issuance_id = await _inline_batch(tenant, count=6, **body)
    fulfilled = await tenant.http.post(f"/v2/giftcards/shipping-configs/{config_id}/fulfill")
    assert fulfilled.status_code == 202, fulfilled.text
    order_id = fulfilled.json()["fulfillmentOrderId"]

    off = await _switch(tenant, issuance_id, "deactivate")
    assert off.status_code == 200, off.text
    cards = await tenant.cards(program["id"], bulkIssuanceId=issuance_id)
    assert len(cards) == 6
    for card in cards:
        assert card["status"] == "inactive"
        assert card["fulfillment"]["status"] == "ORDERED"
        assert card["fulfillment"]["orderId"] == order_id
    order = (await tenant.http.get(f"/v2/giftcards/fulfillment-orders/{order_id}")).json()
    assert order["cardCount"] == 6 and order["cardsByStatus"] == {"ORDERED": 6}


async def test_another_merchants_batch_is_not_found(tenant, other_tenant):
    program, issuance_id = await _inline_batch(tenant, count=2)
    for action in ("deactivate", "activate"):
        theirs = await _switch(other_tenant, issuance_id, action)
        assert theirs.status_code == 404, theirs.text
        assert theirs.json()["code"] == "bulk_issuance_not_found"
        unknown = await _switch(tenant, str(ObjectId()), action)
        assert unknown.status_code == 404
        assert (await _switch(tenant, "not an id!", action)).status_code == 422
    assert await _statuses(tenant, program["id"], issuance_id) == ["active"] * 2
    off = await _switch(tenant, issuance_id, "deactivate")
    task_id = off.json()["statusChangeTaskId"]
    assert (await other_tenant.http.get(f"/v2/giftcards/tasks/{task_id}")).status_code == 404


async def test_queued_switch_of_a_large_batch(deployment, new_tenant):
    """40 cards over a syncThreshold of 5, switched 5 cards per update: a chain of jobs."""
    d = deployment(STATUS_CHANGE_CHUNK_SIZE="5")
    api = d.api()  # no worker yet: the batch stays pending
    tenant = await new_tenant("Switch queued", base_url=api.base_url)
    program = await tenant.create_program(name="Switch queued", syncThreshold=5)
    queued = await tenant.bulk(program["id"], {"initialValue": "5.00", "count": 40})
    assert queued.status_code == 202, queued.text
    issuing = await tenant.http.get(f"/v2/giftcards/tasks/{queued.json()['taskId']}")
    issuance_id = issuing.json()["bulkIssuanceId"]

    busy = await _switch(tenant, issuance_id, "deactivate")
    assert busy.status_code == 409 and busy.json()["code"] == "batch_in_progress"

    first = d.worker()
    assert (await tenant.wait_task(queued.json()["taskId"]))["status"] == "completed"
    first.stop()

    off = await _switch(tenant, issuance_id, "deactivate")  # no worker: the change waits
    assert off.status_code == 202, off.text
    task_id = off.json()["taskId"]
    assert off.json()["status"] == "pending"
    assert off.headers["Location"] == f"/v2/giftcards/tasks/{task_id}"
    again = await _switch(tenant, issuance_id, "deactivate")
    assert again.status_code == 202 and again.json()["taskId"] == task_id
    opposite = await _switch(tenant, issuance_id, "activate")
    assert opposite.status_code == 409 and opposite.json()["code"] == "status_change_in_progress"
    batch = (await tenant.http.get(f"/v2/giftcards/bulk-issuances/{issuance_id}")).json()
    assert batch["cardStatus"] == "inactive" and batch["statusChangeTaskId"] == task_id
    pending = (await tenant.http.get(f"/v2/giftcards/tasks/{task_id}")).json()
    assert (pending["type"], pending["status"], pending["progress"]) == ("deactivate", "pending", 0)
    assert pending["bulkIssuanceId"] == issuance_id and pending["requestedCount"] == 40

    second = d.worker()
    seen: list[float] = []

    async def completed():
        task = (await tenant.http.get(f"/v2/giftcards/tasks/{task_id}")).json()
        seen.append(task["progress"])
        return task if task["status"] in ("completed", "failed") else None

    task = await wait_until(completed, timeout=60, message="deactivate task finished")
    assert task["status"] == "completed", task
    assert task["issuedCount"] == 40 and task["progress"] == 1.0 and task["error"] is None
    assert seen == sorted(seen)  # progress never goes back
    assert await _statuses(tenant, program["id"], issuance_id) == ["inactive"] * 40
    ranges = [line for line in second.log_text().splitlines() if f"status change {task_id}" in line]
    assert sum("seqs " in line for line in ranges) == 8  # bounded updates of 5 cards

    done = await _switch(tenant, issuance_id, "deactivate")  # already inactive: 200
    assert done.status_code == 200 and done.json()["cardStatus"] == "inactive"

    on = await _switch(tenant, issuance_id, "activate")
    assert on.status_code == 202, on.text
    assert on.json()["taskId"] != task_id
    assert (await tenant.wait_task(on.json()["taskId"], timeout=60))["type"] == "activate"
    assert await _statuses(tenant, program["id"], issuance_id) == ["active"] * 40
