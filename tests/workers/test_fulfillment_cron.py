"""AUTO fulfillment at the daily cut-off: once per cut-off, however many workers, and caught
up when no worker was running at the cut-off."""

import secrets
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.fixtures.printer import shipping_config
from tests.fixtures.waiting import wait_until

ZONE = "America/Los_Angeles"


def cutoff_in(seconds: float) -> tuple[str, float]:
    """("HH:MM:SS" in the zone, epoch) of a cut-off `seconds` from now."""
    at = datetime.now(ZoneInfo(ZONE)).replace(microsecond=0) + timedelta(seconds=seconds)
    return at.strftime("%H:%M:%S"), at.timestamp()


async def _auto_setup(deployment, new_tenant, lead_seconds: float):
    """The cut-off is set `lead_seconds` after the set-up: only the workers read it, and
    they start after that (so a slow set-up on a loaded machine costs no margin)."""
    # a database of its own: every worker fulfills every AUTO configuration of its database at
    # its own cut-off, so the session's worker (and other tests) must not see these
    private = {"MONGODB_DB": f"auto_{secrets.token_hex(4)}"}
    d = deployment(FULFILLMENT_TIMEZONE=ZONE, SWEEP_INTERVAL_SECONDS="2", **private)
    api = d.api()
    tenant = await new_tenant("Auto Stores", base_url=api.base_url, env=private)
    program = await tenant.create_program(name="Auto")
    created = await tenant.http.post("/v2/giftcards/shipping-configs", json=shipping_config("AUTO"))
    config = created.json()
    body = {"initialValue": 5, "count": 10, "isPhysical": True, "shippingConfigId": config["id"]}
    assert (await tenant.bulk(program["id"], body)).status_code == 201
    cutoff, epoch = cutoff_in(lead_seconds)
    d.env["FULFILLMENT_CUTOFF"] = cutoff
    return d, tenant, program, config, epoch


async def _orders(tenant, config_id: str) -> list[dict]:
    listed = await tenant.http.get(
        "/v2/giftcards/fulfillment-orders", params={"shippingConfigId": config_id}
    )
    return listed.json()["data"]


def _ticks(workers) -> int:
    return sum(w.log_text().count("fulfillment_cutoffs") for w in workers)


async def _after_more_ticks(workers, count: int) -> None:
    start = _ticks(workers)
    await wait_until(lambda: _ticks(workers) >= start + count, timeout=60, message="cron ticks")


async def test_two_workers_cut_one_order_at_the_cutoff(deployment, new_tenant):
    d, tenant, _, config, epoch = await _auto_setup(deployment, new_tenant, lead_seconds=15)
    workers = [d.worker(), d.worker()]
    assert time.time() < epoch  # both run when the cut-off comes, not only at start-up

    async def one_order():
        return await _orders(tenant, config["id"])

    [order] = await wait_until(one_order, timeout=60, message="the AUTO order")
    assert order["trigger"] == "AUTO" and order["cardCount"] == 10
    assert abs(datetime.fromisoformat(order["cutoffAt"]).timestamp() - epoch) < 1
    await _after_more_ticks(workers, 4)  # both workers ticked again after the cut
    assert [o["id"] for o in await _orders(tenant, config["id"])] == [order["id"]]


async def test_a_missed_cutoff_is_caught_up_once_when_a_worker_starts(deployment, new_tenant):
    d, tenant, program, config, epoch = await _auto_setup(deployment, new_tenant, lead_seconds=2)
    await wait_until(lambda: time.time() > epoch + 0.5, timeout=30, message="cut-off passed")
    late = {"initialValue": 5, "count": 3, "isPhysical": True, "shippingConfigId": config["id"]}
    assert (await tenant.bulk(program["id"], late)).status_code == 201  # after the cut-off
    assert await _orders(tenant, config["id"]) == []  # no worker ran at the cut-off

    first = d.worker()

    async def one_order():
        return await _orders(tenant, config["id"])

    [order] = await wait_until(one_order, timeout=60, message="the caught-up order")
    assert order["cardCount"] == 10  # the cards issued before the cut-off, not the late ones
    first.kill()
    second = d.worker()  # starts (and checks at start-up) after the catch-up: nothing more
    await _after_more_ticks([second], 2)
    assert [o["id"] for o in await _orders(tenant, config["id"])] == [order["id"]]
    waiting = await tenant.cards(program["id"], fulfillmentStatus="CREATED")
    assert len(waiting) == 3
