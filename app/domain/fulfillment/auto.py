"""AUTO fulfillment: every AUTO configuration is fulfilled once per daily cut-off.

A worker cron checks on every tick (and at start-up) for the most recent cut-off at or before
now: not "is it 21:30", so a cut-off missed while no worker ran, or whose run died, is caught
up by the next tick of any worker. The ledger row (configuration, cut-off), unique, makes it
exactly once however many workers tick: inserting it is the claim. The row names the order id
before the cut, so a run that died is resumed into the same order once its claim is stale.

A cut-off with no waiting card makes no order: its row is marked `empty`. Cards count for the
cut-off they were issued before; a configuration counts from the first cut-off after its
creation (one created at 22:00 is first fulfilled the next evening).
"""

import logging
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from app.domain.fulfillment.models import FulfillmentCutoff, ShippingConfig
from app.domain.fulfillment.orders import cut
from app.lib.resources import Resources
from app.lib.types import now_ms

log = logging.getLogger(__name__)


def latest_cutoff(now: datetime, cutoff: str, timezone: str) -> datetime:
    """The most recent instant at or before `now` when the local clock read `cutoff`."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    hour, minute, *rest = (int(part) for part in cutoff.split(":"))
    at = time(hour, minute, rest[0] if rest else 0)
    for days_back in (0, 1, 2):  # 2: a DST gap can skip a day's wall-clock time
        day = local.date() - timedelta(days=days_back)
        candidate = datetime.combine(day, at, tzinfo=zone)
        if candidate <= local:
            return candidate.astimezone(UTC)
    raise AssertionError("a cut-off in the last three days always exists")


async def run_cutoffs(res: Resources, now: datetime | None = None) -> int:
    """Fulfills each AUTO configuration at the latest cut-off, once; returns orders cut."""
    settings = res.settings
    instant = latest_cutoff(now or datetime.now(UTC), settings.fulfillment_cutoff,
                            settings.fulfillment_timezone)  # fmt: skip
    cutoff_ms = int(instant.timestamp() * 1000)
    ledger = FulfillmentCutoff.get_pymongo_collection()
    settled = {
        doc["shipping_config_id"]
        async for doc in ledger.find(
            {"cutoff_ms": cutoff_ms, "state": {"$ne": "claimed"}}, {"shipping_config_id": 1}
        )
    }
    cut_count = 0
    configs = ShippingConfig.find({"policy": "AUTO", "created_ms": {"$lt": cutoff_ms}})
    async for config in configs:
        if str(config.id) not in settled and await fulfill_at(res, config, cutoff_ms):
            cut_count += 1
    return cut_count


async def fulfill_at(res: Resources, config: ShippingConfig, cutoff_ms: int) -> bool:
    row = await _claim(res, str(config.id), cutoff_ms)
    if row is None:
        return False
    ledger = FulfillmentCutoff.get_pymongo_collection()
    try:
        order = await cut(res, config, ObjectId(row["order_id"]), "AUTO", cutoff_ms=cutoff_ms)
    except BaseException:  # let the next tick resume it now, not once the claim is stale
        await ledger.update_one(
            {"_id": row["_id"], "state": "claimed"}, {"$set": {"claimed_ms": 0}}
        )
        raise
    await ledger.update_one(
        {"_id": row["_id"]}, {"$set": {"state": "ordered" if order else "empty"}}
    )
    log.info(
        "AUTO cut-off %s for shipping configuration %s: %s",
        datetime.fromtimestamp(cutoff_ms / 1000, UTC).isoformat(),
        config.id,
        f"order {order.id} of {order.card_count} cards" if order else "nothing to fulfill",
    )
    return order is not None


async def _claim(res: Resources, config_id: str, cutoff_ms: int) -> dict | None:
    """The ledger row if this run owns the cut-off: freshly inserted, or a stale claim."""
    ledger = FulfillmentCutoff.get_pymongo_collection()
    row = {
        "shipping_config_id": config_id,
        "cutoff_ms": cutoff_ms,
        "order_id": str(ObjectId()),
        "state": "claimed",
        "claimed_ms": now_ms(),
    }
    try:
        inserted = await ledger.insert_one(row)
        return {**row, "_id": inserted.inserted_id}
    except DuplicateKeyError:
        pass
    stale_ms = 2 * res.settings.job_timeout_seconds * 1000
    return await ledger.find_one_and_update(
        {
            "shipping_config_id": config_id,
            "cutoff_ms": cutoff_ms,
            "state": "claimed",
            "claimed_ms": {"$lt": now_ms() - stale_ms},
        },
        {"$set": {"claimed_ms": now_ms()}},
        return_document=ReturnDocument.AFTER,
    )
