"""A process that dies in the middle of a fulfillment change loses no webhook: the outbox rows
of the change are written (held back) before it is made, so the workers' cron sends them once
the hold runs out; and a row whose change was never made is never sent.

The crash is real: a separate process handles a printer event through the real code
(`events.receive`) and exits (`os._exit`, no clean-up) right after, or right before, the
order's status moves (`move_status`).
"""

import json
import subprocess
import sys
import uuid

from scripts.devstack import ROOT
from tests.fixtures.printer import printer  # noqa: F401 - fixture
from tests.fixtures.waiting import wait_until

HOLD_SECONDS = 3  # WEBHOOK_HOLD_SECONDS: then the cron sends a held row
FAST = {
    "WEBHOOK_HOLD_SECONDS": str(HOLD_SECONDS),
    "WEBHOOK_RETRY_BASE_SECONDS": "0.2",
    "WEBHOOK_RETRY_MAX_DELAY_SECONDS": "0.5",
    "SWEEP_INTERVAL_SECONDS": "1",
}
CRASHED = 86
# handles one printer event (argv: body, signature) and dies at the status move (argv: when)
DYING_RECEIVER = f"""
import asyncio, os, sys
from app.domain.fulfillment import events
from app.lib.settings import get_settings
from app.storage.repositories.fulfillment_orders import FulfillmentOrderRepository
from app.storage.resources import Resources

real_move = FulfillmentOrderRepository.move_status

async def move_status(self, *args, **kwargs):
    if sys.argv[3] == "before":
        os._exit({CRASHED})
    moved = await real_move(self, *args, **kwargs)
    os._exit({CRASHED} if moved else 1)

FulfillmentOrderRepository.move_status = move_status

async def main():
    res = await Resources.open(get_settings())
    await events.receive(res, sys.argv[1].encode(), sys.argv[2])

asyncio.run(main())
"""


def _die_on_event(env: dict[str, str], printer_, body: dict, when: str) -> None:
    raw = json.dumps(body).encode()
    done = subprocess.run(
        [sys.executable, "-c", DYING_RECEIVER, raw.decode(), printer_.sign(raw), when],
        env={**env, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == CRASHED, done.stderr[-3000:]


async def _submitted_order(deployment, new_tenant, receiver, path: str):
    """A deployment with a tenant whose program calls back `path`, and an order of 4 cards
    submitted to the printer, its first two changes announced (3 events)."""
    d = deployment(**FAST)
    api = d.api()
    d.worker()
    tenant = await new_tenant(f"Crash {path}", base_url=api.base_url)
    program = await tenant.create_program(name="Crash", callbackUrl=receiver.at(path))
    order = await tenant.physical_order(program["id"], 4)
    order_id, card_ids = order.order_id, order.card_ids
    events = await receiver.wait_for(path, count=3)
    assert {e.json()["id"] for e in events} >= {f"{order_id}-2-order"}
    return api, tenant, program, order_id, card_ids


def _event(receiver, path: str, event_id: str) -> dict | None:
    found = [r.json() for r in receiver.received(path) if r.json()["id"] == event_id]
    assert len(found) <= 1, found  # never twice
    return found[0] if found else None


async def test_a_crash_right_after_the_status_moved_still_announces_the_change(
    deployment,
    new_tenant,
    webhook_receiver,
    printer,  # noqa: F811 - fixture
):
    path = "/crash/after-the-move"
    api, tenant, program, order_id, card_ids = await _submitted_order(
        deployment, new_tenant, webhook_receiver, path
    )
    shipped = {
        "eventId": str(uuid.uuid4()),
        "orderId": order_id,
        "status": "SHIPPED",
        "carrier": "UPS",
        "trackingNumber": "1Z999",
    }
    _die_on_event(api.env, printer, shipped, "after")
    order = (await tenant.http.get(f"/v2/giftcards/fulfillment-orders/{order_id}")).json()
    assert order["status"] == "SHIPPED"  # the change was made, then the process died

    ids = [f"{order_id}-3-order", f"{order_id}-3-cards-{program['id']}"]

    def both_sent():
        sent = [_event(webhook_receiver, path, event_id) for event_id in ids]
        return sent if all(sent) else None

    order_event, cards_event = await wait_until(
        both_sent, timeout=HOLD_SECONDS + 60, message="the crashed change's webhooks"
    )
    assert order_event["type"] == "fulfillment_order.updated"
    assert order_event["data"]["status"] == "SHIPPED"
    assert order_event["data"]["change"] == {"number": 3, "from": "SUBMITTED", "to": "SHIPPED"}
    assert order_event["data"]["trackingNumber"] == "1Z999"
    assert cards_event["data"]["status"] == "SHIPPED"
    assert sorted(cards_event["data"]["cardIds"]) == card_ids
    assert len(webhook_receiver.received(path)) == 5  # 2 of the cut, 1 submitted, these 2


async def test_a_row_whose_change_never_happened_is_never_sent(
    deployment,
    new_tenant,
    webhook_receiver,
    printer,  # noqa: F811 - fixture
):
    """The process dies after the cards moved, before the order's status: the cards' event
    goes out, the order's (held for a move that never came) does not; the printer's resend
    moves the order as a new change, announced at once."""
    path = "/crash/before-the-move"
    api, tenant, program, order_id, card_ids = await _submitted_order(
        deployment, new_tenant, webhook_receiver, path
    )
    event = {"eventId": str(uuid.uuid4()), "orderId": order_id, "status": "DELIVERED"}
    _die_on_event(api.env, printer, event, "before")
    order = (await tenant.http.get(f"/v2/giftcards/fulfillment-orders/{order_id}")).json()
    assert order["status"] == "SUBMITTED" and order["cardsByStatus"] == {"DELIVERED": 4}

    cards_id = f"{order_id}-3-cards-{program['id']}"
    cards_event = await wait_until(
        lambda: _event(webhook_receiver, path, cards_id),
        timeout=HOLD_SECONDS + 60,
        message="the crashed change's card webhook",
    )
    assert sorted(cards_event["data"]["cardIds"]) == card_ids
    assert _event(webhook_receiver, path, f"{order_id}-3-order") is None

    resent = await printer.send(order_id, "DELIVERED", base_url=api.base_url)  # a new event id
    assert resent.status_code == 200, resent.text
    assert resent.json()["orderStatus"] == "DELIVERED"
    order_event = await wait_until(
        lambda: _event(webhook_receiver, path, f"{order_id}-4-order"),
        timeout=30,
        message="the resent event's order webhook",
    )
    assert order_event["data"]["change"] == {"number": 4, "from": "SUBMITTED", "to": "DELIVERED"}
    deliveries = await tenant.http.get("/v2/webhooks/deliveries", params={"limit": 100})
    held = [d for d in deliveries.json()["data"] if d["eventId"] == f"{order_id}-3-order"]
    assert held == [] or held[0]["state"] == "pending" and held[0]["attempts"] == 0
    assert _event(webhook_receiver, path, f"{order_id}-3-order") is None
