"""A client generated from the LoyaltyDog seed's own OpenAPI block (not ours) still issues
cards: a digital batch, recipients with phones as people type them, and a physical batch that
sends `isPhysical` alone (the seed has no `shippingConfigId`), shipped to the program's
default shipping configuration.

One change is made to the seed's document before generating: its `programId` path parameter
is `anyOf: [PydanticObjectId, null]`, which openapi-python-client refuses for a path parameter
("None | str is not allowed in path") and then generates no endpoint at all; the test keeps its
non-null branch. Paths, body, auth (bearer JWT from POST /v2/token) are the seed's as written."""

import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.fixtures.generated_clients import generated_client
from tests.fixtures.printer import shipping_config

# the seed's OpenAPI block, copied into the repository (the seeds live outside it)
SEED = Path(__file__).resolve().parents[1] / "fixtures/seeds/loyaltydog-openapi.yaml"
PACKAGE = "loyaltydog_seed_client"


def seed_document() -> dict[str, Any]:
    """The seed's OpenAPI document, with the path parameters' null branch dropped."""
    document = yaml.safe_load(SEED.read_text(encoding="utf-8"))
    for operations in document["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                schema = parameter["schema"]
                branches = [b for b in schema.get("anyOf", []) if b.get("type") != "null"]
                if parameter["in"] == "path" and len(branches) == 1:
                    parameter["schema"] = {"title": schema.get("title"), **branches[0]}
    return document


@pytest.fixture(scope="module")
def seed_client(tmp_path_factory) -> Iterator[ModuleType]:
    root = tmp_path_factory.mktemp("seed_client")
    spec = root / "loyaltydog.json"
    spec.write_text(json.dumps(seed_document()), encoding="utf-8")
    # not strict: the seed's document as written gives the generator warnings of its own
    with generated_client(spec, root, PACKAGE, strict=False) as client:
        yield client


def _models(client: ModuleType) -> ModuleType:
    return importlib.import_module(f"{client.__name__}.models")


def _bulk(client: ModuleType) -> ModuleType:
    return importlib.import_module(
        f"{client.__name__}.api.gift_cards."
        "bulk_issue_gift_cards_v_2_giftcards_programs_program_id_cards_bulk_post"
    )


async def test_the_seeds_client_issues_digital_and_physical_cards(seed_client, api, tenant):
    config = await tenant.http.post("/v2/giftcards/shipping-configs", json=shipping_config())
    assert config.status_code == 201, config.text
    config_id = config.json()["id"]
    program = await tenant.create_program(name="LoyaltyDog seed", defaultShippingConfigId=config_id)
    models, bulk = _models(seed_client), _bulk(seed_client)
    token = tenant.http.headers["Authorization"].removeprefix("Bearer ")
    client = seed_client.AuthenticatedClient(base_url=api.base_url, token=token, timeout=60)
    async with client:
        digital = await bulk.asyncio_detailed(
            program["id"],
            client=client,
            body=models.BulkIssueGiftCardRequest(initial_value="25.00", count=3),
            idempotency_key="seed-client-digital-" + program["id"],
        )
        assert digital.status_code == 201, digital.content
        assert isinstance(digital.parsed, models.BulkIssuanceSyncResponse)
        assert digital.parsed.issued_count == 3 and len(digital.parsed.cards) == 3

        recipient = models.BulkIssueRecipient(
            customer_email="seed@example.com", customer_phone="(415) 555-0100"
        )
        notified = await bulk.asyncio_detailed(
            program["id"],
            client=client,
            body=models.BulkIssueGiftCardRequest(initial_value=10, recipients=[recipient]),
        )
        assert notified.status_code == 201, notified.content

        physical = await bulk.asyncio_detailed(
            program["id"],
            client=client,
            body=models.BulkIssueGiftCardRequest(initial_value="15.00", count=2, is_physical=True),
        )
        assert physical.status_code == 201, physical.content
        assert isinstance(physical.parsed, models.BulkIssuanceSyncResponse)
        assert physical.parsed.issued_count == 2
        assert json.loads(physical.content)["bulkIssuanceId"]

    shipped = await tenant.cards(
        program["id"], bulkIssuanceId=json.loads(physical.content)["bulkIssuanceId"]
    )
    assert len(shipped) == 2
    assert all(card["fulfillment"]["status"] == "CREATED" for card in shipped)
    assert {card["shippingConfigId"] for card in shipped} == {config_id}
    phoned = await tenant.cards(
        program["id"], bulkIssuanceId=json.loads(notified.content)["bulkIssuanceId"]
    )
    assert phoned[0]["recipient"]["customerPhone"] == "+14155550100"
