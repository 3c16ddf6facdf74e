"""Idempotency-Key semantics (contract §Idempotency), against the real Redis."""

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.fixtures.processes import unreachable_url


@pytest.fixture(scope="module")
async def program(tenant):
    return await tenant.create_program(name="Idempotent")


def new_key() -> str:
    return str(uuid.uuid4())


async def test_replay_returns_the_first_response(tenant, program, db):
    key = new_key()
    body = {"initialValue": "15.00", "count": 5}
    first = await tenant.bulk(program["id"], body, key)
    second = await tenant.bulk(program["id"], body, key)
    assert first.status_code == second.status_code == 201
    assert "idempotent-replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    issuance_id = first.json()["bulkIssuanceId"]
    issued = {"program_id": program["id"], "bulk_issuance_id": issuance_id}
    assert db.cards.count_documents(issued) == 5
    assert db.bulk_issuances.count_documents({"program_id": program["id"]}) == 1


async def test_same_json_in_another_key_order_is_the_same_request(tenant, program):
    key = new_key()
    first = await tenant.bulk(program["id"], {"initialValue": "1.00", "count": 1}, key)
    second = await tenant.bulk(program["id"], {"count": 1, "initialValue": "1.00"}, key)
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert second.json()["bulkIssuanceId"] == first.json()["bulkIssuanceId"]


async def test_replayed_202_has_the_same_task_and_no_second_batch(tenant, program, db):
    key = new_key()
    body = {"initialValue": "2.00", "count": 75}
    first = await tenant.bulk(program["id"], body, key)
    assert first.status_code == 202
    task = await tenant.wait_task(first.json()["taskId"])
    second = await tenant.bulk(program["id"], body, key)
    assert second.status_code == 202
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.headers["Location"] == first.headers["Location"]
    assert second.json()["taskId"] == first.json()["taskId"]
    assert db.bulk_issuances.count_documents({"task_id": first.json()["taskId"]}) == 1
    issued = {"program_id": program["id"], "bulk_issuance_id": task["bulkIssuanceId"]}
    assert db.cards.count_documents(issued) == 75


async def test_same_key_with_another_body_or_path_is_422(tenant, program):
    key = new_key()
    assert (
        await tenant.bulk(program["id"], {"initialValue": 1, "count": 1}, key)
    ).status_code == 201
    other_body = await tenant.bulk(program["id"], {"initialValue": 2, "count": 1}, key)
    assert other_body.status_code == 422
    assert other_body.json()["code"] == "idempotency_key_reused"
    other = await tenant.create_program(name="Other path")
    other_path = await tenant.bulk(other["id"], {"initialValue": 1, "count": 1}, key)
    assert other_path.status_code == 422
    assert other_path.json()["code"] == "idempotency_key_reused"


async def test_validation_errors_are_replayed_too(tenant, program):
    key = new_key()
    first = await tenant.bulk(program["id"], {"initialValue": 0, "count": 1}, key)
    second = await tenant.bulk(program["id"], {"initialValue": 0, "count": 1}, key)
    assert first.status_code == second.status_code == 422
    assert second.headers["Idempotent-Replayed"] == "true"


async def test_keys_are_scoped_per_merchant(tenant, other_tenant, program):
    key = new_key()
    mine = await tenant.bulk(program["id"], {"initialValue": 1, "count": 1}, key)
    theirs_program = await other_tenant.create_program(name="Theirs")
    theirs = await other_tenant.bulk(theirs_program["id"], {"initialValue": 1, "count": 1}, key)
    assert mine.status_code == theirs.status_code == 201
    assert "idempotent-replayed" not in theirs.headers


async def test_key_longer_than_255_is_422(tenant, program):
    response = await tenant.bulk(program["id"], {"initialValue": 1, "count": 1}, "k" * 256)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]


async def test_a_concurrent_burst_issues_exactly_once(tenant, program, db):
    """Twenty requests with one key at once: one issues, the rest replay it or hear it is in
    flight (409). A burst can land after the first request finished (then all replay): it is
    tried again with a new key until one overlaps, and every burst must issue exactly once."""
    body = {"initialValue": "3.00", "count": 50}
    for _ in range(5):
        key = new_key()
        responses = await asyncio.gather(
            *(tenant.bulk(program["id"], body, key) for _ in range(20))
        )
        statuses = sorted(r.status_code for r in responses)
        assert set(statuses) <= {201, 409}, statuses
        fresh = [
            r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers
        ]
        assert len(fresh) == 1
        issuance_id = fresh[0].json()["bulkIssuanceId"]
        issued = {"program_id": program["id"], "bulk_issuance_id": issuance_id}
        assert db.cards.count_documents(issued) == 50
        replay = await tenant.bulk(program["id"], body, key)
        assert replay.json() == fresh[0].json()
        if 409 in statuses:  # the burst overlapped the first request
            break
    else:
        raise AssertionError("no burst overlapped its first request in 5 tries")
    for conflict in (r for r in responses if r.status_code == 409):
        assert conflict.json()["code"] == "idempotency_key_in_flight"


async def test_5xx_is_not_stored_so_a_retry_succeeds(start_api, tenant, program, db):
    """S3 down: the inline issue fails with 503 and leaves nothing; the retry with the key works."""
    no_s3 = start_api({"S3_ENDPOINT_URL": unreachable_url("http")})
    key = new_key()
    body = {"initialValue": "4.00", "count": 3}
    before = db.cards.count_documents({"program_id": program["id"]})
    async with _client_for(no_s3, tenant) as client:
        failed = await client.post(
            f"/v2/giftcards/programs/{program['id']}/cards/bulk",
            json=body,
            headers={"Idempotency-Key": key},
        )
    assert failed.status_code == 503
    assert failed.json()["code"] == "object_store_unavailable"
    assert db.cards.count_documents({"program_id": program["id"]}) == before
    retry = await tenant.bulk(program["id"], body, key)
    assert retry.status_code == 201
    assert "idempotent-replayed" not in retry.headers
    no_s3.stop()


async def test_redis_down_is_503_and_nothing_is_issued(start_api, tenant, program, db):
    no_redis = start_api({"REDIS_URL": unreachable_url("redis")})
    before_cards = db.cards.count_documents({"program_id": program["id"]})
    before_issuances = db.bulk_issuances.count_documents({"program_id": program["id"]})
    async with _client_for(no_redis, tenant) as client:
        path = f"/v2/giftcards/programs/{program['id']}/cards/bulk"
        keyed = await client.post(
            path, json={"initialValue": 1, "count": 2}, headers={"Idempotency-Key": new_key()}
        )
        queued = await client.post(path, json={"initialValue": 1, "count": 500})
        ready = await client.get("/ready")
    assert keyed.status_code == 503 and keyed.json()["code"] == "redis_unavailable"
    assert queued.status_code == 503 and queued.json()["code"] == "redis_unavailable"
    assert ready.status_code == 503 and ready.json()["down"] == ["redis"]
    assert db.cards.count_documents({"program_id": program["id"]}) == before_cards
    assert db.bulk_issuances.count_documents({"program_id": program["id"]}) == before_issuances
    no_redis.stop()


def _client_for(api, tenant):
    import httpx

    return httpx.AsyncClient(base_url=api.base_url, headers=tenant.http.headers, timeout=60)


def _forget_in_redis(redis_server, merchant_id: str, key: str) -> None:
    """What a Redis restarted without its data, a failure while the first response was being
    stored, or the record's 24 h running out (the claim in MongoDB lasts 90 days) leaves: no
    record of the key."""
    record = f"idem:{merchant_id}:{hashlib.sha256(key.encode()).hexdigest()}"
    client = redis_server.client()
    try:
        assert client.delete(record) == 1
    finally:
        client.close()


async def _twice_with_redis_forgetting(tenant, redis_server, name: str, body: dict, status: int):
    """The same request with the same key twice, Redis losing the key's record in between."""
    program = await tenant.create_program(name=name)
    key = new_key()
    first = await tenant.bulk(program["id"], body, key)
    assert first.status_code == status, first.text
    _forget_in_redis(redis_server, tenant.merchant_id, key)
    again = await tenant.bulk(program["id"], body, key)
    assert again.status_code == status, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    return program, key, first, again


async def test_a_key_redis_lost_still_issues_once(tenant, db, redis_server):
    body = {"initialValue": "3.00", "count": 4}
    program, key, first, again = await _twice_with_redis_forgetting(
        tenant, redis_server, "Redis forgets", body, 201
    )
    assert again.json()["cards"] == first.json()["cards"]  # the same cards, numbers included
    assert again.json()["bulkIssuanceId"] == first.json()["bulkIssuanceId"]
    assert len(list(db.cards.find({"program_id": program["id"]}, {"_id": 1}))) == 4
    claim = db.request_keys.find_one({"issuance_id": first.json()["bulkIssuanceId"]})
    left = claim["expires_at"] - datetime.now(UTC).replace(tzinfo=None)  # the TTL index's field
    assert timedelta(days=89, hours=23) < left <= timedelta(days=90)  # honoured for 90 days

    other = await tenant.bulk(program["id"], {**body, "count": 5}, key)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"


async def test_a_refused_request_leaves_its_key_unclaimed(tenant, db, redis_server):
    """The key's claim in MongoDB is made while the request is checked: a request refused
    there (no such shipping configuration: a read after the claim was sent) drops it, so the
    key, its Redis record gone, still issues the corrected request."""
    program = await tenant.create_program(name="Refused, then fixed")
    key = new_key()
    body = {"initialValue": "3.00", "count": 4}
    refused = await tenant.bulk(
        program["id"], body | {"isPhysical": True, "shippingConfigId": "a" * 24}, key
    )
    assert refused.status_code == 422 and "no such shipping" in refused.text, refused.text
    key_id = hashlib.sha256(f"{tenant.merchant_id}:{key}".encode()).hexdigest()
    assert db.request_keys.find_one({"_id": key_id}) is None  # claimed, then dropped
    _forget_in_redis(redis_server, tenant.merchant_id, key)
    fixed = await tenant.bulk(program["id"], body, key)
    assert fixed.status_code == 201, fixed.text
    assert "Idempotent-Replayed" not in fixed.headers
    assert (
        db.request_keys.find_one({"_id": key_id})["issuance_id"] == fixed.json()["bulkIssuanceId"]
    )
    assert len(list(db.cards.find({"program_id": program["id"]}, {"_id": 1}))) == 4


async def test_a_queued_batch_whose_key_redis_lost_is_not_queued_twice(tenant, db, redis_server):
    body = {"initialValue": "3.00", "count": 120}
    program, _, first, again = await _twice_with_redis_forgetting(
        tenant, redis_server, "Redis forgets, queued", body, 202
    )
    assert again.json()["taskId"] == first.json()["taskId"]
    task = await tenant.wait_task(first.json()["taskId"])
    assert task["status"] == "completed" and task["issuedCount"] == 120
    assert len(list(db.bulk_issuances.find({"program_id": program["id"]}, {"_id": 1}))) == 1
    assert len(list(db.cards.find({"program_id": program["id"]}, {"_id": 1}))) == 120


def _every_redis_value(redis_server) -> list[bytes]:
    """Every value of every key in Redis, whatever its type."""
    client = redis_server.client()
    readers = {
        b"string": lambda k: [client.get(k)],
        b"hash": lambda k: list(client.hgetall(k).values()),
        b"list": lambda k: client.lrange(k, 0, -1),
        b"set": lambda k: list(client.smembers(k)),
        b"zset": lambda k: client.zrange(k, 0, -1),
    }
    try:
        values: list[bytes] = []
        for key in client.scan_iter(count=1000):
            values += [v for v in readers.get(client.type(key), lambda _: [])(key) if v]
        return values
    finally:
        client.close()


async def test_no_card_number_is_kept_in_redis(tenant, program, redis_server):
    """The replayable 201 holds the full card numbers: Redis keeps it sealed (AES-GCM), and a
    replay still answers the numbers."""
    bodies = [
        {"initialValue": "5.00", "count": 3},
        {"initialValue": "5.00", "recipients": [{"customerName": "Ana"}, {"customerName": "Bo"}]},
    ]
    numbers: list[str] = []
    for body in bodies:
        key = new_key()
        first = await tenant.bulk(program["id"], body, key)
        assert first.status_code == 201, first.text
        again = await tenant.bulk(program["id"], body, key)
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()
        numbers += [card["cardNumber"] for card in first.json()["cards"]]
    assert len(numbers) == 5
    values = _every_redis_value(redis_server)
    assert values  # the records are there, sealed
    leaked = [n for n in numbers if any(n.encode() in v for v in values)]
    assert leaked == []
