"""A bulk issuance's client-chosen `token` (Marqeta's): unique per merchant, usable as its id."""

import asyncio
import hashlib
import time
import uuid

import pytest
from bson import ObjectId


@pytest.fixture(scope="module")
async def program(tenant):
    return await tenant.create_program(name="Tokens", syncThreshold=5)


def new_token(prefix: str = "order") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _stored(db, program_id: str) -> tuple[int, int]:
    """(bulk issuances, cards) of the program, read from the database."""
    query = {"program_id": program_id}
    return db.bulk_issuances.count_documents(query), db.cards.count_documents(query)


async def test_the_token_names_the_batch_everywhere(tenant, program):
    token = new_token("PO_2026.11")
    response = await tenant.bulk(
        program["id"], {"initialValue": "5.00", "count": 2, "token": token}
    )
    assert response.status_code == 201, response.text
    issuance_id = response.json()["bulkIssuanceId"]
    by_id = await tenant.http.get(f"/v2/giftcards/bulk-issuances/{issuance_id}")
    by_token = await tenant.http.get(f"/v2/giftcards/bulk-issuances/{token}")
    assert by_id.status_code == by_token.status_code == 200, by_token.text
    assert by_token.json() | {"csvDownloadUrl": None} == by_id.json() | {"csvDownloadUrl": None}
    assert by_token.json()["token"] == token and by_token.json()["id"] == issuance_id
    listed = await tenant.http.get(
        f"/v2/giftcards/programs/{program['id']}/cards/bulk", params={"token": token}
    )
    assert [i["id"] for i in listed.json()["data"]] == [issuance_id]
    assert listed.json()["data"][0]["token"] == token
    everything = await tenant.http.get(f"/v2/giftcards/programs/{program['id']}/cards/bulk")
    assert {i["token"] for i in everything.json()["data"] if i["id"] == issuance_id} == {token}
    cards = await tenant.cards(program["id"], bulkIssuanceId=token)
    assert len(cards) == 2 and {c["bulkIssuanceId"] for c in cards} == {issuance_id}
    off = await tenant.http.post(f"/v2/giftcards/bulk-issuances/{token}/deactivate")
    assert off.status_code == 200, off.text
    assert off.json()["id"] == issuance_id and off.json()["cardStatus"] == "inactive"
    on = await tenant.http.post(f"/v2/giftcards/bulk-issuances/{token}/activate")
    assert on.status_code == 200 and on.json()["cardStatus"] == "active"


async def test_an_unknown_token_is_404_and_matches_no_card(tenant, program):
    missing = await tenant.http.get(f"/v2/giftcards/bulk-issuances/{new_token()}")
    assert missing.status_code == 404 and missing.json()["code"] == "bulk_issuance_not_found"
    assert await tenant.cards(program["id"], bulkIssuanceId=new_token()) == []
    listed = await tenant.http.get(
        f"/v2/giftcards/programs/{program['id']}/cards/bulk", params={"token": new_token()}
    )
    assert listed.status_code == 200 and listed.json()["data"] == []


@pytest.mark.parametrize("token", ["", "x" * 37, "has space", "slash/no", "é"])
async def test_a_bad_token_is_422_at_its_field(tenant, program, token):
    response = await tenant.bulk(
        program["id"], {"initialValue": "5.00", "count": 1, "token": token}
    )
    assert response.status_code == 422, response.text
    assert [e["loc"] for e in response.json()["detail"]] == [["body", "token"]]


async def test_36_characters_are_enough(tenant, program):
    token = "A" * 24 + uuid.uuid4().hex[:12]
    response = await tenant.bulk(
        program["id"], {"initialValue": "5.00", "count": 1, "token": token}
    )
    assert response.status_code == 201, response.text
    got = await tenant.http.get(f"/v2/giftcards/bulk-issuances/{token}")
    assert got.status_code == 200 and got.json()["token"] == token


@pytest.mark.parametrize(("first_count", "second_count"), [(1, 1), (6, 2), (2, 6)])
async def test_a_reused_token_is_409_and_issues_nothing(
    tenant, program, db, first_count, second_count
):
    """Inline or queued (over the threshold of 5), first or second: the second is refused."""
    token = new_token()
    first = await tenant.bulk(
        program["id"], {"initialValue": "5.00", "count": first_count, "token": token}
    )
    assert first.status_code in (201, 202), first.text
    if first.status_code == 202:  # its cards are all written before counting
        await tenant.wait_task(first.json()["taskId"], timeout=60)
    before = _stored(db, program["id"])
    key = str(uuid.uuid4())
    again = await tenant.bulk(
        program["id"], {"initialValue": "7.00", "count": second_count, "token": token}, key
    )
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "token_in_use" and again.json()["detail"]
    assert _stored(db, program["id"]) == before
    assert (
        db.bulk_issuances.count_documents({"merchant_id": tenant.merchant_id, "token": token}) == 1
    )
    # the same request with its key again: its answer is replayed, still a 409
    replay = await tenant.bulk(
        program["id"], {"initialValue": "7.00", "count": second_count, "token": token}, key
    )
    assert replay.status_code == 409
    assert _stored(db, program["id"]) == before


@pytest.mark.parametrize("count", [2, 6])
async def test_of_two_concurrent_requests_with_one_token_exactly_one_wins(
    tenant, program, db, count
):
    for _ in range(3):
        token = new_token("race")
        body = {"initialValue": "5.00", "count": count, "token": token}
        responses = await asyncio.gather(
            tenant.bulk(program["id"], body, str(uuid.uuid4())),
            tenant.bulk(program["id"], body, str(uuid.uuid4())),
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == sorted([201 if count <= 5 else 202, 409]), [r.text for r in responses]
        lost = next(r for r in responses if r.status_code == 409)
        assert lost.json()["code"] == "token_in_use"
        query = {"merchant_id": tenant.merchant_id, "token": token}
        assert db.bulk_issuances.count_documents(query) == 1
        winner = db.bulk_issuances.find_one(query)
        issued = {"program_id": program["id"], "bulk_issuance_id": str(winner["_id"])}
        if count > 5:
            task = await tenant.wait_task(winner["task_id"], timeout=60)
            assert task["status"] == "completed"
        assert db.cards.count_documents(issued) == count


async def test_an_idempotent_replay_answers_again_not_409(tenant, program, redis_server):
    token = new_token()
    key = str(uuid.uuid4())
    body = {"initialValue": "5.00", "count": 2, "token": token}
    first = await tenant.bulk(program["id"], body, key)
    assert first.status_code == 201, first.text
    again = await tenant.bulk(program["id"], body, key)
    assert again.status_code == 201 and again.json() == first.json()
    # Redis lost the key's record: the durable claim answers again, before the token is checked
    record = f"idem:{tenant.merchant_id}:{hashlib.sha256(key.encode()).hexdigest()}"
    client = redis_server.client()
    try:
        assert client.delete(record) == 1
    finally:
        client.close()
    durable = await tenant.bulk(program["id"], body, key)
    assert durable.status_code == 201, durable.text
    assert durable.headers["Idempotent-Replayed"] == "true"
    assert durable.json()["bulkIssuanceId"] == first.json()["bulkIssuanceId"]


async def test_a_queued_replay_answers_with_its_task(tenant, program):
    key = str(uuid.uuid4())
    body = {"initialValue": "5.00", "count": 6, "token": new_token()}
    first = await tenant.bulk(program["id"], body, key)
    again = await tenant.bulk(program["id"], body, key)
    assert first.status_code == again.status_code == 202, again.text
    assert again.json()["taskId"] == first.json()["taskId"]


async def test_another_merchant_may_use_the_same_token(tenant, other_tenant, program):
    token = new_token("shared")
    mine = await tenant.bulk(program["id"], {"initialValue": "5.00", "count": 1, "token": token})
    assert mine.status_code == 201, mine.text
    theirs_program = await other_tenant.create_program(name="Their tokens")
    theirs = await other_tenant.bulk(
        theirs_program["id"], {"initialValue": "5.00", "count": 1, "token": token}
    )
    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["bulkIssuanceId"] != mine.json()["bulkIssuanceId"]
    # each sees only its own batch under the token
    got = await other_tenant.http.get(f"/v2/giftcards/bulk-issuances/{token}")
    assert got.json()["id"] == theirs.json()["bulkIssuanceId"]
    got = await tenant.http.get(f"/v2/giftcards/bulk-issuances/{token}")
    assert got.json()["id"] == mine.json()["bulkIssuanceId"]


async def test_a_batch_without_a_token_shows_none(tenant, program):
    response = await tenant.bulk(program["id"], {"initialValue": "5.00", "count": 1})
    got = await tenant.http.get(f"/v2/giftcards/bulk-issuances/{response.json()['bulkIssuanceId']}")
    assert got.status_code == 200 and got.json()["token"] is None


def _abandoned_claim(db, tenant, token: str, key: str | None, age_ms: int) -> None:
    """What a request that died after taking its token, before its issuance existed, leaves."""
    key_id = hashlib.sha256(f"{tenant.merchant_id}:{key}".encode()).hexdigest() if key else None
    db.issuance_tokens.insert_one(
        {
            "_id": f"{tenant.merchant_id}:{token}",
            "merchant_id": tenant.merchant_id,
            "token": token,
            "issuance_id": str(ObjectId()),
            "request_key": key_id,
            "claimed_ms": int(time.time() * 1000) - age_ms,
        }
    )


async def test_a_claim_left_by_a_dead_request_is_taken_over(tenant, program, db):
    body = {"initialValue": "5.00", "count": 1}
    # the same request retried with its Idempotency-Key takes its token back at once
    token, key = new_token("dead"), str(uuid.uuid4())
    _abandoned_claim(db, tenant, token, key, age_ms=1_000)
    other = await tenant.bulk(program["id"], {**body, "token": token}, str(uuid.uuid4()))
    assert other.status_code == 409, other.text  # it may still be issuing: not anyone's yet
    retried = await tenant.bulk(program["id"], {**body, "token": token}, key)
    assert retried.status_code == 201, retried.text
    got = await tenant.http.get(f"/v2/giftcards/bulk-issuances/{token}")
    assert got.json()["id"] == retried.json()["bulkIssuanceId"]
    # anyone's, once no request can still be issuing under it
    token = new_token("dead")
    _abandoned_claim(db, tenant, token, None, age_ms=16 * 60 * 1000)
    late = await tenant.bulk(program["id"], {**body, "token": token})
    assert late.status_code == 201, late.text
