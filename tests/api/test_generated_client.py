"""The committed `openapi.json` is good enough to generate a client from: openapi-python-client
builds one without a warning, and that client walks the README (a program, an inline and a
queued bulk issue, the task polled, the CSV, a shipping config, physical cards, an order)."""

import importlib
from collections.abc import Iterator
from types import ModuleType

import pytest

from scripts.export_schema import SCHEMA_FILE
from tests.api.csv_helpers import HEADER, download_csv
from tests.fixtures import wait_until
from tests.fixtures.generated_clients import generated_client
from tests.fixtures.printer import shipping_config

PACKAGE = "giftcards_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Iterator[ModuleType]:
    """The client generated from the committed document, importable as `giftcards_client`."""
    with generated_client(SCHEMA_FILE, tmp_path_factory.mktemp("generated"), PACKAGE) as client:
        yield client


def _api(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def _model(name: str) -> type:
    return getattr(importlib.import_module(f"{PACKAGE}.models"), name)


async def test_the_readme_walkthrough_with_a_generated_client(generated, api, tenant):
    token = tenant.http.headers["Authorization"].removeprefix("Bearer ")
    client = generated.AuthenticatedClient(base_url=api.base_url, token=token, timeout=60)
    async with client:
        created = await _api("programs.create_program").asyncio_detailed(
            client=client, body=_model("ProgramCreate")(name="Generated client", currency="USD")
        )
        assert created.status_code == 201, created.content
        program = created.parsed
        assert isinstance(program, _model("ProgramOut")) and program.sync_threshold == 50

        bulk = _api("gift_cards.bulk_issue_gift_cards")
        request = _model("BulkIssueGiftCardRequest")
        inline = await bulk.asyncio_detailed(
            program.id, client=client, body=request(initial_value="25.00", count=5)
        )
        assert inline.status_code == 201, inline.content
        assert isinstance(inline.parsed, _model("BulkIssuanceSyncResponse"))
        assert inline.parsed.issued_count == 5 and len(inline.parsed.cards) == 5
        assert all(len(card.last_four_digits) == 4 for card in inline.parsed.cards)

        queued = await bulk.asyncio_detailed(
            program.id, client=client, body=request(initial_value=10, count=60)
        )
        assert queued.status_code == 202, queued.content
        assert queued.headers["Location"] == f"/v2/giftcards/tasks/{queued.parsed.task_id}"
        task = await _poll(client, queued.parsed.task_id)
        assert task.status.value == "completed" and task.issued_count == 60, task
        rows, header = await download_csv(task.csv_download_url)
        assert header == HEADER and len(rows) == 60

        config = await _api("physical_cards.create_shipping_config").asyncio_detailed(
            client=client, body=_model("ShippingConfigCreate").from_dict(shipping_config())
        )
        assert config.status_code == 201, config.content
        assert config.parsed.policy.value == "MANUAL"
        physical = request(
            initial_value="15.00", count=3, is_physical=True, shipping_config_id=config.parsed.id
        )
        issued = await bulk.asyncio_detailed(program.id, client=client, body=physical)
        assert issued.status_code == 201, issued.content

        fulfilled = await _api("physical_cards.fulfill_shipping_config").asyncio_detailed(
            config.parsed.id, client=client
        )
        assert fulfilled.status_code == 202, fulfilled.content
        assert isinstance(fulfilled.parsed, _model("FulfillAccepted"))
        assert fulfilled.parsed.card_count == 3
        order = await _api("physical_cards.get_fulfillment_order").asyncio_detailed(
            fulfilled.parsed.fulfillment_order_id, client=client
        )
        assert order.status_code == 200, order.content
        assert order.parsed.shipping_config_id == config.parsed.id


async def _poll(client, task_id: str):
    get_task = _api("tasks.get_task")

    async def finished():
        polled = await get_task.asyncio_detailed(task_id, client=client)
        assert polled.status_code == 200, polled.content
        task = polled.parsed
        return task if task.status.value in ("completed", "failed") else None

    return await wait_until(finished, timeout=120, message=f"task {task_id} finished")
