"""The webhook outbox over the API and the CLI: a merchant lists its deliveries (by state,
cursor-paged) and asks for a redelivery; an operator does both from the CLI."""

import subprocess
import sys

from arq import create_pool
from arq.connections import RedisSettings

from app.lib import jobs
from scripts.devstack import isolated_env
from tests.fixtures.waiting import wait_until

DELIVERIES = "/v2/webhooks/deliveries"


async def _completed_task(tenant, program_id: str) -> str:
    response = await tenant.bulk(program_id, {"initialValue": 1, "count": 55})
    assert response.status_code == 202, response.text
    task_id = response.json()["taskId"]
    assert (await tenant.wait_task(task_id))["status"] == "completed"
    return task_id


async def _delivery(tenant, event_id: str, state: str = "delivered") -> dict:
    async def reached():
        response = await tenant.http.get(DELIVERIES, params={"state": state, "limit": 1000})
        found = [d for d in response.json()["data"] if d["eventId"] == event_id]
        return found[0] if found else None

    return await wait_until(reached, timeout=60, message=f"{event_id} {state}")


def _cli(stack_env, cwd, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "webhooks", *args],
        env=isolated_env(stack_env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_list_by_state_page_and_redeliver(tenant, other_tenant, webhook_receiver):
    path = "/deliveries/api"
    program = await tenant.create_program(name="Listed", callbackUrl=webhook_receiver.at(path))
    first = await _completed_task(tenant, program["id"])
    second = await _completed_task(tenant, program["id"])
    delivered = await _delivery(tenant, f"task-{first}")
    await _delivery(tenant, f"task-{second}")
    assert delivered["type"] == "bulk_issuance.completed" and delivered["url"].endswith(path)
    assert delivered["attempts"] == 1 and delivered["lastStatusCode"] == 200
    assert delivered["createdAt"].endswith("Z") and delivered["deliveredAt"].endswith("Z")
    assert delivered["data"]["taskId"] == first and delivered["data"]["issuedCount"] == 55
    assert set(delivered) >= {"id", "nextAttemptAt", "lastError"}

    # newest first, one per page, and the cursor walks on
    page = (await tenant.http.get(DELIVERIES, params={"limit": 1})).json()
    assert page["data"][0]["eventId"] == f"task-{second}" and page["nextCursor"]
    rest = await tenant.http.get(DELIVERIES, params={"limit": 1, "cursor": page["nextCursor"]})
    assert rest.json()["data"][0]["eventId"] == f"task-{first}"
    failed = await tenant.http.get(DELIVERIES, params={"state": "failed"})
    assert failed.status_code == 200 and failed.json()["data"] == []
    bad = await tenant.http.get(DELIVERIES, params={"state": "lost"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "state"]
    bad_cursor = await tenant.http.get(DELIVERIES, params={"cursor": "nope"})
    assert bad_cursor.status_code == 422

    # another merchant sees none of it, and cannot redeliver it
    theirs = (await other_tenant.http.get(DELIVERIES, params={"limit": 1000})).json()["data"]
    assert delivered["id"] not in {d["id"] for d in theirs}
    redeliver = f"{DELIVERIES}/{delivered['id']}/redeliver"
    refused = await other_tenant.http.post(redeliver)
    assert refused.status_code == 404 and refused.json()["code"] == "webhook_delivery_not_found"
    assert (await tenant.http.post(f"{DELIVERIES}/not-an-id/redeliver")).status_code == 422

    # a delivered event is sent again under its own id
    again = await tenant.http.post(redeliver)
    assert again.status_code == 202, again.text
    assert again.json()["state"] == "pending" and again.json()["attempts"] == 0
    assert again.json()["nextAttemptAt"]
    receipts = await webhook_receiver.wait_for(path, count=3)
    assert [r.json()["id"] for r in receipts].count(f"task-{first}") == 2
    resent = await _delivery(tenant, f"task-{first}")
    assert resent["id"] == delivered["id"] and resent["attempts"] == 1


async def test_operator_lists_and_redelivers_from_the_cli(
    tenant, webhook_receiver, stack_env, tmp_path
):
    path = "/deliveries/cli"
    program = await tenant.create_program(name="CLI hooks", callbackUrl=webhook_receiver.at(path))
    task_id = await _completed_task(tenant, program["id"])
    delivered = await _delivery(tenant, f"task-{task_id}")

    listed = _cli(
        stack_env, tmp_path, "list", "--merchant", tenant.merchant_id, "--state", "delivered"
    )
    assert listed.returncode == 0, listed.stderr[-2000:]
    [line] = [line for line in listed.stdout.splitlines() if f"task-{task_id}" in line]
    assert line.startswith(delivered["id"]) and "delivered" in line
    pending = _cli(
        stack_env, tmp_path, "list", "--merchant", tenant.merchant_id, "--state", "failed"
    )
    assert f"task-{task_id}" not in pending.stdout

    again = _cli(stack_env, tmp_path, "redeliver", delivered["id"])
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"task-{task_id}" in again.stdout
    receipts = await webhook_receiver.wait_for(path, count=2)
    assert {r.json()["id"] for r in receipts} == {f"task-{task_id}"}
    unknown = _cli(stack_env, tmp_path, "redeliver", "0" * 24)
    assert unknown.returncode != 0 and "not found" in unknown.stderr


async def test_a_callback_job_queued_by_an_older_version_still_arrives(
    tenant, webhook_receiver, db, stack_env
):
    """After an upgrade Redis may still hold `deliver_callback` jobs of tasks that ended
    under the older version (no outbox row): such a job puts its callback in the outbox."""
    path = "/deliveries/upgrade"
    program = await tenant.create_program(name="Upgraded", callbackUrl=webhook_receiver.at(path))
    task_id = await _completed_task(tenant, program["id"])
    await _delivery(tenant, f"task-{task_id}")
    issuance_id = (await tenant.http.get(f"/v2/giftcards/tasks/{task_id}")).json()["bulkIssuanceId"]
    db.webhook_deliveries.delete_many({"event_id": f"task-{task_id}"})  # as before the upgrade

    redis = await create_pool(RedisSettings.from_dsn(stack_env["REDIS_URL"]))
    try:
        queued = await redis.enqueue_job(
            jobs.DELIVER_CALLBACK, issuance_id, _job_id=f"callback:{issuance_id}:old"
        )
        assert queued is not None
    finally:
        await redis.aclose()
    receipts = await webhook_receiver.wait_for(path, count=2)
    assert [r.json()["id"] for r in receipts] == [f"task-{task_id}"] * 2
    resent = await _delivery(tenant, f"task-{task_id}")
    assert resent["attempts"] == 1
