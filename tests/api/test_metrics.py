"""What an operator sees: `GET /metrics` (Prometheus text, no auth) on each API process, the
same on each worker's WORKER_METRICS_PORT (with `/health`), and JSON log lines that carry the
request, merchant, task and job ids.

Each test runs a deployment on a database of its own, so the session's workers (which sweep
every database they share) never do its work and its counters count exactly its requests."""

import json
import secrets
import subprocess
import sys

import httpx
from prometheus_client.parser import text_string_to_metric_families

from scripts import devstack
from tests.fixtures.waiting import wait_until


def _samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _value(samples: dict, name: str, **labels: str) -> float:
    """The sum over every sample of `name` whose labels include `labels` (0 when none)."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


async def _scrape(url: str) -> dict:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return _samples(response.text)


def _own_database() -> dict[str, str]:
    return {"MONGODB_DB": f"test_metrics_{secrets.token_hex(4)}"}


async def test_api_metrics_count_requests_cards_tasks_and_the_queue(deployment, new_tenant):
    env = _own_database()
    d = deployment(**env)
    api = d.api()
    tenant = await new_tenant("Metrics", base_url=api.base_url, env=env)
    for _ in range(2):
        assert (await tenant.http.get("/v2/giftcards/programs")).status_code == 200
    missing = await tenant.http.get("/v2/giftcards/tasks/" + "0" * 24)
    assert missing.status_code == 404
    program = await tenant.create_program(name="Metrics")
    assert (await tenant.bulk(program["id"], {"initialValue": 1, "count": 5})).status_code == 201
    queued = await tenant.bulk(program["id"], {"initialValue": 1, "count": 60})
    assert queued.status_code == 202  # no worker yet: the job waits in the queue

    scraped = await _scrape(f"{api.base_url}/metrics")  # no Authorization header
    requests = "giftcards_http_requests_total"
    programs = {"path": "/v2/giftcards/programs", "method": "GET", "status_code": "200"}
    assert _value(scraped, requests, **programs) == 2
    task = {"path": "/v2/giftcards/tasks/{taskId}", "status_code": "404"}
    assert _value(scraped, requests, **task) == 1
    assert _value(scraped, "giftcards_http_request_duration_seconds_count", **programs) == 2
    assert _value(scraped, "giftcards_cards_issued_total", mode="inline") == 5
    assert _value(scraped, "giftcards_tasks", state="pending") == 1
    assert _value(scraped, "giftcards_tasks", state="completed") == 0
    assert _value(scraped, "giftcards_queue_depth") >= 1

    async def aged() -> dict | None:  # the gauges are kept a few seconds between reads
        now = await _scrape(f"{api.base_url}/metrics")
        return now if _value(now, "giftcards_queue_oldest_job_age_seconds") > 0 else None

    await wait_until(aged, timeout=20, message="the oldest job's age")
    d.worker()
    await tenant.wait_task(queued.json()["taskId"])

    async def completed() -> dict | None:  # and the queue drained: a cron tick queues jobs too
        now = await _scrape(f"{api.base_url}/metrics")
        counted = _value(now, "giftcards_tasks", state="completed") == 1
        return now if counted and _value(now, "giftcards_queue_depth") == 0 else None

    done = await wait_until(completed, timeout=30, message="the task counted, the queue empty")
    assert _value(done, "giftcards_tasks", state="pending") == 0
    assert _value(done, "giftcards_queue_depth") == 0


async def test_a_worker_serves_its_metrics_and_health_on_its_port(
    deployment, new_tenant, webhook_receiver
):
    env = _own_database()
    port = devstack.free_port("127.0.0.1")
    d = deployment(**env)
    api = d.api()
    d.env = {**d.env, "WORKER_METRICS_PORT": str(port)}
    worker = d.worker()
    tenant = await new_tenant("Worker metrics", base_url=api.base_url, env=env)
    program = await tenant.create_program(
        name="Worker metrics", callbackUrl=webhook_receiver.at("/metrics/callback")
    )
    recipients = [{"customerEmail": f"m{i}@example.com"} for i in range(2)]
    body = {"initialValue": 1, "recipients": recipients}
    queued = await tenant.bulk(program["id"], {"initialValue": 1, "count": 60})
    assert (await tenant.bulk(program["id"], body)).status_code == 201
    await tenant.wait_task(queued.json()["taskId"])
    await webhook_receiver.wait_for("/metrics/callback")

    async def counted() -> dict | None:
        now = await _scrape(f"http://127.0.0.1:{port}/metrics")
        sent = _value(now, "giftcards_notifications_total", channel="email", outcome="sent")
        delivered = _value(now, "giftcards_webhook_deliveries_total", outcome="delivered")
        return now if sent == 2 and delivered >= 1 else None

    scraped = await wait_until(counted, timeout=60, message="the worker's counters")
    assert _value(scraped, "giftcards_cards_issued_total", mode="queued") == 60
    async with httpx.AsyncClient(timeout=10) as client:
        health = await client.get(f"http://127.0.0.1:{port}/health")
    assert health.status_code == 200
    check = [sys.executable, "-m", "workers.health"]  # the container's health check
    assert subprocess.run(check, env=worker.env, cwd=worker.workdir, timeout=30).returncode == 0
    off = {**worker.env, "WORKER_METRICS_PORT": str(devstack.free_port("127.0.0.1"))}
    assert subprocess.run(check, env=off, cwd=worker.workdir, timeout=30).returncode == 1

    lines = [json.loads(line) for line in worker.log_text().splitlines() if line.startswith("{")]
    ours = [line for line in lines if line.get("task_id") == queued.json()["taskId"]]
    assert ours and all(line["job_id"] for line in ours)
    assert any("cards 0-60 done" in line["message"] for line in ours)


async def test_api_log_lines_are_json_with_the_request_and_merchant_ids(deployment, new_tenant):
    env = _own_database()
    d = deployment(**env)
    api = d.api()
    tenant = await new_tenant("Log ids", base_url=api.base_url, env=env)
    sent = f"req-{secrets.token_hex(6)}"
    response = await tenant.http.get("/v2/giftcards/programs", headers={"X-Request-ID": sent})
    assert response.headers["x-request-id"] == sent
    made_up = (await tenant.http.get("/v2/giftcards/programs")).headers["x-request-id"]
    assert made_up and made_up != sent
    bad = await tenant.http.get("/v2/giftcards/programs", headers={"X-Request-ID": "a b<x>"})
    assert bad.headers["x-request-id"] != "a b<x>"  # not an id: replaced, never echoed
    async with httpx.AsyncClient(base_url=api.base_url) as anonymous:
        unauthorized = await anonymous.get("/v2/giftcards/programs")
    assert unauthorized.status_code == 401 and unauthorized.headers["x-request-id"]

    def lines_of(request_id: str) -> list[dict]:
        lines = [json.loads(line) for line in api.log_text().splitlines() if line.strip()]
        return [line for line in lines if line.get("request_id") == request_id]

    ours = await wait_until(lambda: lines_of(sent), timeout=10, message="the request's lines")
    assert all(line["merchant_id"] == tenant.merchant_id for line in ours)
    assert {"method", "path"} <= set(ours[0]) and ours[-1]["status_code"] == 200
    assert all("body" not in line and "headers" not in line for line in ours)
