"""POST/GET/DELETE /v2/api-keys: two active keys at most, rotation without downtime."""

import asyncio
import hashlib
import secrets

import httpx

from tests.fixtures.tenants import token_for

KEYS = "/v2/api-keys"


async def test_rotate_a_key_without_downtime(new_tenant, api, anon):
    tenant = await new_tenant("Rotating Keys")
    created = await tenant.http.post(KEYS)
    assert created.status_code == 201, created.text
    second = created.json()
    assert second["key"].startswith("gk_") and second["key"] != tenant.api_key
    assert second["prefix"] == second["key"][:8] and second["createdAt"].endswith("Z")

    # both keys get tokens, and the new one's token works
    await token_for(api.base_url, tenant.api_key)
    token = await token_for(api.base_url, second["key"])
    programs = await anon.get(
        "/v2/giftcards/programs", headers={"Authorization": f"Bearer {token}"}
    )
    assert programs.status_code == 200

    listed = (await tenant.http.get(KEYS)).json()["data"]
    assert [k["prefix"] for k in listed] == [tenant.api_key[:8], second["prefix"]]
    assert all(k["lastUsedAt"] and k["lastUsedAt"].endswith("Z") for k in listed)
    assert "key" not in listed[0] and "keyHash" not in listed[0]
    first_id = listed[0]["id"]

    # a third active key is refused
    third = await tenant.http.post(KEYS)
    assert third.status_code == 409 and third.json()["code"] == "too_many_keys"

    # revoke the original: its token calls fail at once, the second key goes on
    revoked = await tenant.http.delete(f"{KEYS}/{first_id}")
    assert revoked.status_code == 204
    refused = await anon.post("/v2/token", json={"apiKey": tenant.api_key})
    assert refused.status_code == 401 and refused.json()["code"] == "invalid_api_key"
    await token_for(api.base_url, second["key"])
    listed = (await tenant.http.get(KEYS)).json()["data"]
    assert [k["id"] for k in listed] == [second["id"]]
    assert (await tenant.http.delete(f"{KEYS}/{first_id}")).status_code == 204  # no-op

    # the freed slot takes a new key
    assert (await tenant.http.post(KEYS)).status_code == 201


async def test_the_last_active_key_stays(new_tenant):
    tenant = await new_tenant("One Key")
    (only,) = (await tenant.http.get(KEYS)).json()["data"]
    response = await tenant.http.delete(f"{KEYS}/{only['id']}")
    assert response.status_code == 409 and response.json()["code"] == "last_api_key"


async def test_revoking_both_keys_at_once_leaves_one(new_tenant, api):
    tenant = await new_tenant("Both Keys")
    second = (await tenant.http.post(KEYS)).json()
    ids = [k["id"] for k in (await tenant.http.get(KEYS)).json()["data"]]
    answers = await asyncio.gather(*(tenant.http.delete(f"{KEYS}/{i}") for i in ids))
    codes = sorted(a.status_code for a in answers)
    assert codes in ([204, 409], [409, 409])
    kept = (await tenant.http.get(KEYS)).json()["data"]
    assert len(kept) == (2 if codes == [409, 409] else 1)  # never none
    for key in kept:  # ids, not list order: ObjectIds of two processes in one second aren't
        await token_for(
            api.base_url, second["key"] if key["id"] == second["id"] else tenant.api_key
        )


async def test_another_merchants_key_is_404(new_tenant):
    owner = await new_tenant("Key Owner")
    rival = await new_tenant("Key Rival")
    theirs = (await owner.http.post(KEYS)).json()
    for response in (
        await rival.http.delete(f"{KEYS}/{theirs['id']}"),
        await rival.http.delete(f"{KEYS}/{'0' * 24}"),
    ):
        assert response.status_code == 404 and response.json()["code"] == "api_key_not_found"
    listed = (await rival.http.get(KEYS)).json()["data"]
    assert theirs["id"] not in [k["id"] for k in listed]
    assert await token_for(owner.http.base_url.__str__(), theirs["key"])


async def test_a_merchant_from_before_api_keys_keeps_its_key(db, api):
    """Merchants stored with only `api_key_hash` (no api_keys document) are adopted on use."""
    api_key = "gk_" + secrets.token_urlsafe(16)
    db.merchants.insert_one(
        {"name": "Old Merchant", "api_key_hash": hashlib.sha256(api_key.encode()).hexdigest()}
    )
    token = await token_for(api.base_url, api_key)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=api.base_url, headers=headers) as client:
        (original,) = (await client.get(KEYS)).json()["data"]
        assert original["prefix"] == api_key[:8] and original["lastUsedAt"]
        assert (await client.post(KEYS)).status_code == 201
        assert (await client.delete(f"{KEYS}/{original['id']}")).status_code == 204
        refused = await client.post("/v2/token", json={"apiKey": api_key})
        assert refused.status_code == 401


async def test_keys_need_a_token(anon):
    assert (await anon.get(KEYS)).status_code == 401
    assert (await anon.post(KEYS)).status_code == 401
