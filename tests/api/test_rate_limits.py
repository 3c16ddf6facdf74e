"""Rate limits in Redis: per merchant on authenticated routes, per client address on
POST /v2/token; 429 in the contract's shape; counters shared by every API process; fail-open
when Redis is down. And the Retry-After polling hint on 202s and on tasks under way."""

import subprocess
import sys

import httpx

from scripts.devstack import isolated_env
from tests.fixtures.processes import unreachable_url

PROGRAMS = "/v2/giftcards/programs"


def _client(base_url: str, tenant=None, **kw) -> httpx.AsyncClient:
    headers = tenant.http.headers if tenant is not None else {}
    return httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60, **kw)


def _assert_refused(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["code"] == "rate_limited" and response.json()["detail"]
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert response.headers["ratelimit-limit"] == str(limit)
    assert response.headers["ratelimit-remaining"] == "0"
    assert 1 <= int(response.headers["ratelimit-reset"]) <= 60


async def test_a_merchant_over_its_limit_gets_429_across_api_processes(deployment, new_tenant):
    five = deployment(RATE_LIMIT_PER_MERCHANT="5/minute")
    first, second = five.api(), five.api()
    greedy = await new_tenant("Greedy", base_url=first.base_url)
    calm = await new_tenant("Calm", base_url=first.base_url)
    async with _client(first.base_url, greedy) as a, _client(second.base_url, greedy) as b:
        answers = [await (a if i % 2 == 0 else b).get(PROGRAMS) for i in range(6)]
    for i, answer in enumerate(answers[:5]):
        assert answer.status_code == 200, answer.text
        assert answer.headers["ratelimit-limit"] == "5"
        assert answer.headers["ratelimit-remaining"] == str(4 - i)
        assert "retry-after" not in answer.headers
    _assert_refused(answers[5], 5)  # the two processes counted the same six requests
    # another merchant has its own counter
    calm_answer = await calm.http.get(PROGRAMS)
    assert calm_answer.status_code == 200 and calm_answer.headers["ratelimit-remaining"] == "4"
    # POSTs are counted before the idempotency middleware runs
    refused = await greedy.http.post(
        PROGRAMS, json={"name": "x", "currency": "USD"}, headers={"Idempotency-Key": "k-1"}
    )
    _assert_refused(refused, 5)


async def test_token_is_limited_per_client_address(deployment):
    three = deployment(RATE_LIMIT_TOKEN_PER_ADDRESS="3/minute")
    api = three.api()
    body = {"apiKey": "gk_not-a-key"}
    async with _client(api.base_url) as client:
        answers = [await client.post("/v2/token", json=body) for _ in range(4)]
        health = await client.get("/health")
    assert [a.status_code for a in answers[:3]] == [401, 401, 401]
    assert [a.headers["ratelimit-remaining"] for a in answers[:3]] == ["2", "1", "0"]
    _assert_refused(answers[3], 3)
    assert health.status_code == 200 and "ratelimit-limit" not in health.headers
    # another address still may ask
    other = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    async with _client(api.base_url, transport=other) as client:
        elsewhere = await client.post("/v2/token", json=body)
    assert elsewhere.status_code == 401 and elsewhere.headers["ratelimit-remaining"] == "2"


async def test_behind_a_trusted_proxy_the_forwarded_address_is_counted(deployment):
    """uvicorn reads X-Forwarded-For only from FORWARDED_ALLOW_IPS (the load balancer):
    clients behind it get a counter each, and a client elsewhere cannot pick its address."""
    two = deployment(RATE_LIMIT_TOKEN_PER_ADDRESS="2/minute", FORWARDED_ALLOW_IPS="127.0.0.1")
    api = two.api()
    body = {"apiKey": "gk_not-a-key"}

    def behind(address: str) -> dict[str, str]:
        return {"X-Forwarded-For": address}

    async with _client(api.base_url) as proxy:
        first = [await proxy.post("/v2/token", json=body, headers=behind("203.0.113.7"))]
        first.append(await proxy.post("/v2/token", json=body, headers=behind("203.0.113.7")))
        first.append(await proxy.post("/v2/token", json=body, headers=behind("203.0.113.7")))
        other = await proxy.post("/v2/token", json=body, headers=behind("203.0.113.8"))
    assert [a.status_code for a in first] == [401, 401, 429]
    assert other.status_code == 401 and other.headers["ratelimit-remaining"] == "1"

    untrusted = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    async with _client(api.base_url, transport=untrusted) as client:
        spoofed = [
            await client.post("/v2/token", json=body, headers=behind(f"198.51.100.{i}"))
            for i in range(3)
        ]
    assert [a.status_code for a in spoofed] == [401, 401, 429]  # one counter: 127.0.0.2's


async def test_rate_limits_can_be_switched_off(deployment, new_tenant):
    off = deployment(RATE_LIMITS_ENABLED="false", RATE_LIMIT_PER_MERCHANT="1/minute")
    api = off.api()
    tenant = await new_tenant("Unlimited", base_url=api.base_url)
    async with _client(api.base_url, tenant) as client:
        answers = [await client.get(PROGRAMS) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert not any("ratelimit-limit" in a.headers for a in answers)


def _set_rate_limit(stack_env, merchant_id: str, limit: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "merchant", "set-rate-limit", merchant_id, limit],
        env=isolated_env(stack_env),
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_a_merchant_limit_set_with_the_cli_replaces_the_default(
    deployment, new_tenant, stack_env
):
    five = deployment(RATE_LIMIT_PER_MERCHANT="5/minute")
    api = five.api()
    big = await new_tenant("Big Spender", base_url=api.base_url)
    done = _set_rate_limit(stack_env, big.merchant_id, "8/minute")
    assert done.returncode == 0, done.stderr
    assert "8/minute" in done.stdout
    answers = [await big.http.get(PROGRAMS) for _ in range(9)]
    assert [a.status_code for a in answers[:8]] == [200] * 8
    assert answers[0].headers["ratelimit-limit"] == "8"
    _assert_refused(answers[8], 8)

    bad = _set_rate_limit(stack_env, big.merchant_id, "lots")
    assert bad.returncode != 0 and "invalid_rate_limit" in bad.stderr
    unknown = _set_rate_limit(stack_env, "0" * 24, "8/minute")
    assert unknown.returncode != 0 and "No merchant" in unknown.stderr


async def test_redis_down_lets_requests_through(start_api, tenant):
    no_redis = start_api({"REDIS_URL": unreachable_url("redis")}, ready="listening")
    async with _client(no_redis.base_url) as client:
        token = await client.post("/v2/token", json={"apiKey": tenant.api_key})
        assert token.status_code == 200, token.text
        auth = {"Authorization": f"Bearer {token.json()['accessToken']}"}
        programs = await client.get(PROGRAMS, headers=auth)
    assert programs.status_code == 200, programs.text
    assert "ratelimit-limit" not in programs.headers
    no_redis.stop()


async def test_a_queued_batch_and_its_poll_carry_retry_after(deployment, new_tenant):
    no_worker_yet = deployment()
    api = no_worker_yet.api()
    merchant = await new_tenant("Patient", base_url=api.base_url)
    program = await merchant.create_program()
    queued = await merchant.bulk(program["id"], {"initialValue": "5.00", "count": 120})
    assert queued.status_code == 202, queued.text
    assert 1 <= int(queued.headers["retry-after"]) <= 5
    task_id = queued.json()["taskId"]
    pending = await merchant.http.get(f"/v2/giftcards/tasks/{task_id}")
    assert pending.json()["status"] == "pending"
    assert 1 <= int(pending.headers["retry-after"]) <= 5

    no_worker_yet.worker()
    finished = await merchant.wait_task(task_id)
    assert finished["status"] == "completed"
    done = await merchant.http.get(f"/v2/giftcards/tasks/{task_id}")
    assert done.status_code == 200 and "retry-after" not in done.headers
