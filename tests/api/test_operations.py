"""/health, /ready, /schema, a MongoDB outage (503, nothing half-written), the demo seed."""

import hashlib
import re
import secrets
import subprocess
import sys

import httpx

from scripts.devstack import isolated_env
from tests.fixtures.tenants import create_merchant_with_cli, token_for
from tests.fixtures.waiting import wait_until


async def test_health_and_ready_need_no_auth(anon):
    assert (await anon.get("/health")).json() == {"status": "ok"}
    ready = await anon.get("/ready")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}


async def test_openapi_documents_the_contract(anon):
    spec = (await anon.get("/schema/openapi.json")).json()
    paths = spec["paths"]
    bulk = paths["/v2/giftcards/programs/{programId}/cards/bulk"]["post"]
    assert bulk["operationId"] == "bulkIssueGiftCards"
    assert {"201", "202"} <= set(bulk["responses"])
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in bulk["parameters"])
    request = spec["components"]["schemas"]["BulkIssueGiftCardRequest"]["properties"]
    assert {
        "initialValue",
        "isPhysical",
        "designTemplate",
        "expiresAt",
        "count",
        "recipients",
    } <= set(request)
    for path in [
        "/v2/token",
        "/v2/giftcards/programs",
        "/v2/giftcards/programs/{programId}",
        "/v2/giftcards/programs/{programId}/cards",
        "/v2/giftcards/programs/{programId}/cards/{cardId}",
        "/v2/giftcards/bulk-issuances/{bulkIssuanceId}",
        "/v2/giftcards/tasks/{taskId}",
        "/health",
        "/ready",
    ]:
        assert path in paths, path
    assert (await anon.get("/schema")).status_code == 200


async def test_unknown_route_is_404_in_the_error_shape(tenant):
    response = await tenant.http.get("/v2/nothing-here")
    assert response.status_code == 404
    assert set(response.json()) == {"detail", "code"}


async def test_mongo_outage_is_503_and_leaves_nothing_half_written(
    start_api, stack_env, private_mongo, tmp_path
):
    """A private nx-27017 behind a private API: stop it mid-session, then bring it back."""
    mongo = private_mongo
    env = {**stack_env, "MONGODB_URL": mongo.url, "MONGODB_DB": "outage"}
    api = start_api(env)
    _, api_key, _ = create_merchant_with_cli(env, "Outage", tmp_path)
    token = await token_for(api.base_url, api_key)
    async with httpx.AsyncClient(
        base_url=api.base_url, timeout=60, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        program = (await client.post("/v2/giftcards/programs", json={"name": "O"})).json()
        bulk = f"/v2/giftcards/programs/{program['id']}/cards/bulk"
        mongo.stop()
        inline = await client.post(bulk, json={"initialValue": 1, "count": 10})
        queued = await client.post(bulk, json={"initialValue": 1, "count": 100})
        ready = await client.get("/ready")
        assert inline.status_code == 503 and inline.json()["code"] == "database_unavailable"
        assert queued.status_code == 503
        assert ready.status_code == 503 and "mongo" in ready.json()["down"]
        mongo.start()
        await wait_until(lambda: _ready(api.base_url), timeout=30, message="API ready again")
        cards = (await client.get(f"/v2/giftcards/programs/{program['id']}/cards")).json()
        assert cards["data"] == []
        issuances = (await client.get(bulk)).json()
        assert issuances["data"] == []
        again = await client.post(bulk, json={"initialValue": 1, "count": 10})
        assert again.status_code == 201
    api.stop()


async def _ready(base_url: str) -> bool:
    async with httpx.AsyncClient(base_url=base_url) as client:
        return (await client.get("/ready")).status_code == 200


async def test_seed_demo_gives_a_merchant_seeded_before_webhook_secrets_one(
    stack_env, db, tmp_path
):
    """`./scripts/dev` on an old var/: the demo merchant has no webhook secret yet."""
    api_key = "demo_" + secrets.token_hex(8)
    db.merchants.insert_one(
        {"name": "Old demo", "api_key_hash": hashlib.sha256(api_key.encode()).hexdigest()}
    )
    env = isolated_env({**stack_env, "DEMO_API_KEY": api_key})

    def seed_demo() -> str:
        seeded = subprocess.run(
            [sys.executable, "-m", "app.cli", "seed-demo"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert seeded.returncode == 0, seeded.stderr[-3000:]
        return re.search(r"demo webhook secret:\s+(\S+)", seeded.stdout).group(1)

    secret = seed_demo()
    stored = db.merchants.find_one({"name": "Old demo"})
    assert stored["webhook_secret_enc"] and len(secret) >= 32
    assert seed_demo() == secret  # kept, not replaced, on the next seed
