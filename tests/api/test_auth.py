"""POST /v2/token, bearer tokens (expiry, forgery), hashed keys, tenancy isolation."""

import hashlib
import time

import jwt

from tests.fixtures.tenants import token_for


async def test_token_is_a_bearer_jwt_for_the_merchant(tenant, api, stack_env):
    response = await tenant.http.post("/v2/token", json={"apiKey": tenant.api_key})
    assert response.status_code == 200
    body = response.json()
    assert body["tokenType"] == "Bearer"
    assert body["expiresIn"] > 0
    claims = jwt.decode(body["accessToken"], stack_env["JWT_SECRET"], algorithms=["HS256"])
    assert claims["sub"] == tenant.merchant_id


async def test_wrong_api_key_is_401_with_the_error_shape(anon):
    response = await anon.post("/v2/token", json={"apiKey": "gk_not-a-key"})
    assert response.status_code == 401
    assert response.json() == {"detail": "The API key is not valid.", "code": "invalid_api_key"}


async def test_token_body_is_validated(anon):
    response = await anon.post("/v2/token", json={})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "apiKey"]


async def test_routes_need_a_token(anon):
    response = await anon.get("/v2/giftcards/programs")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


async def test_expired_token_is_refused(anon, tenant, stack_env):
    now = int(time.time())
    expired = jwt.encode(
        {"sub": tenant.merchant_id, "iat": now - 7200, "exp": now - 3600},
        stack_env["JWT_SECRET"],
        algorithm="HS256",
    )
    response = await anon.get(
        "/v2/giftcards/programs", headers={"Authorization": f"Bearer {expired}"}
    )
    assert response.status_code == 401


async def test_forged_token_is_refused(anon, tenant):
    now = int(time.time())
    forged = jwt.encode(
        {"sub": tenant.merchant_id, "iat": now, "exp": now + 3600},
        "not-the-server-secret-but-long-enough-for-hs256",
        algorithm="HS256",
    )
    response = await anon.get(
        "/v2/giftcards/programs", headers={"Authorization": f"Bearer {forged}"}
    )
    assert response.status_code == 401


async def test_tampered_token_is_refused(anon, tenant, api):
    token = await token_for(api.base_url, tenant.api_key)
    header, payload, signature = token.split(".")
    tampered = f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    response = await anon.get(
        "/v2/giftcards/programs", headers={"Authorization": f"Bearer {tampered}"}
    )
    assert response.status_code == 401


async def test_api_keys_are_stored_only_as_a_hash(db, tenant):
    stored = db.merchants.find_one({"name": "Acme Stores", "api_key_hash": {"$exists": True}})
    everything = str(list(db.merchants.find()))
    assert tenant.api_key not in everything
    assert stored is not None
    hashes = {m["api_key_hash"] for m in db.merchants.find()}
    assert hashlib.sha256(tenant.api_key.encode()).hexdigest() in hashes


async def test_a_merchant_never_sees_another_merchants_things(tenant, other_tenant):
    program = await tenant.create_program(name="Private")
    issued = (await tenant.bulk(program["id"], {"initialValue": "5.00", "count": 2})).json()
    card_id = issued["cards"][0]["id"]
    queued = (await tenant.bulk(program["id"], {"initialValue": "5.00", "count": 51})).json()
    base = f"/v2/giftcards/programs/{program['id']}"
    paths = [
        base,
        f"{base}/cards",
        f"{base}/cards/{card_id}",
        f"{base}/cards/bulk",
        f"/v2/giftcards/bulk-issuances/{issued['bulkIssuanceId']}",
        f"/v2/giftcards/tasks/{queued['taskId']}",
    ]
    for path in paths:
        mine = await tenant.http.get(path)
        theirs = await other_tenant.http.get(path)
        assert mine.status_code == 200, (path, mine.text)
        assert theirs.status_code == 404, (path, theirs.text)
        assert theirs.json()["code"].endswith("not_found")
    post = await other_tenant.bulk(program["id"], {"initialValue": "5.00", "count": 1})
    assert post.status_code == 404
    listed = (await other_tenant.http.get("/v2/giftcards/programs")).json()["data"]
    assert program["id"] not in {p["id"] for p in listed}
    await tenant.wait_task(queued["taskId"])
