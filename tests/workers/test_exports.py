"""Exports that expire: a lifecycle rule on the bucket deletes CSVs of card numbers after
EXPORT_RETENTION_DAYS, and POST .../export rebuilds a fresh CSV of a batch from the vault at
any time after (a task to poll)."""

from urllib.parse import urlparse

from scripts import devstack
from tests.api.csv_helpers import download_csv
from tests.fixtures.waiting import wait_until
from tests.workers.batch_checks import task_of


def _key_of(url: str, bucket: str) -> str:
    return urlparse(url).path.removeprefix(f"/{bucket}/")


async def _exported(tenant, batch_ref: str) -> dict:
    response = await tenant.http.post(f"/v2/giftcards/bulk-issuances/{batch_ref}/export")
    assert response.status_code == 202, response.text
    task_id = response.json()["taskId"]
    assert response.headers["Location"].endswith(f"/v2/giftcards/tasks/{task_id}")

    async def completed():
        task = await task_of(tenant, task_id)
        return task if task["status"] == "completed" else None

    task = await wait_until(completed, timeout=60, message="the export task completed")
    assert task["type"] == "export" and task["csvDownloadUrl"]
    return task


async def test_a_fresh_export_rebuilds_the_csv_after_the_first_is_gone(deployment, new_tenant, s3):
    d = deployment(SWEEP_INTERVAL_SECONDS="1")
    api = d.api()  # no worker yet: a queued batch stays pending
    tenant = await new_tenant("Exports", base_url=api.base_url)
    program = await tenant.create_program(name="Exports", syncThreshold=10)
    queued = await tenant.bulk(program["id"], {"initialValue": 5, "count": 30})
    assert queued.status_code == 202, queued.text
    pending = await task_of(tenant, queued.json()["taskId"])
    early = await tenant.http.post(
        f"/v2/giftcards/bulk-issuances/{pending['bulkIssuanceId']}/export"
    )
    assert early.status_code == 409 and early.json()["code"] == "batch_in_progress"
    d.worker()

    inline = await tenant.bulk(program["id"], {"initialValue": 5, "count": 3, "token": "exp-1"})
    assert inline.status_code == 201, inline.text
    first_url = inline.json()["csvDownloadUrl"]
    first_rows, _ = await download_csv(first_url)
    # what the retention rule does after EXPORT_RETENTION_DAYS
    s3.client().delete_object(Bucket=s3.bucket, Key=_key_of(first_url, s3.bucket))

    task = await _exported(tenant, "exp-1")  # by its token, like any reference to a batch
    rows, _ = await download_csv(task["csvDownloadUrl"])
    assert rows == first_rows  # the same cards, numbers rebuilt from the vault
    batch = (await tenant.http.get("/v2/giftcards/bulk-issuances/exp-1")).json()
    assert _key_of(batch["csvDownloadUrl"], s3.bucket) == _key_of(
        task["csvDownloadUrl"], s3.bucket
    )  # the batch links the fresh CSV from now on

    done = await tenant.wait_task(queued.json()["taskId"])
    assert done["status"] == "completed"
    queued_rows, _ = await download_csv(done["csvDownloadUrl"])
    again = await _exported(tenant, done["bulkIssuanceId"])
    assert (await download_csv(again["csvDownloadUrl"]))[0] == queued_rows


async def test_exports_get_a_lifecycle_rule_at_start_up(deployment, new_tenant, s3, private_s3):
    d = deployment(S3_ENDPOINT_URL=private_s3.url, EXPORT_RETENTION_DAYS="30")
    api = d.api()
    client = devstack.s3_client(private_s3.url, s3.access_key, s3.secret_key, s3.region)
    [rule] = client.get_bucket_lifecycle_configuration(Bucket=s3.bucket)["Rules"]
    assert rule["Expiration"]["Days"] == 30 and rule["Status"] == "Enabled"
    assert rule["Filter"]["Prefix"] == "exports/"

    # exports are still written and read under the rule
    tenant = await new_tenant("Retention", base_url=api.base_url)
    program = await tenant.create_program(name="Retention", syncThreshold=10)
    issued = await tenant.bulk(program["id"], {"initialValue": 5, "count": 2})
    assert issued.status_code == 201, issued.text
    rows, _ = await download_csv(issued.json()["csvDownloadUrl"])
    assert [row["id"] for row in rows] == [card["id"] for card in issued.json()["cards"]]
