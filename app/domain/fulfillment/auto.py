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

from app.domain.fulfillment.orders import cut
from app.storage.models import ShippingConfig
from app.storage.resources import Resources
from app.storage.states import CutoffState, ShippingPolicy

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
    settled = await res.db.fulfillment_cutoffs.settled_configs(cutoff_ms)
    cut_count = 0
    async for config in res.db.shipping_configs.auto_created_before(cutoff_ms):
        if str(config.id) not in settled and await fulfill_at(res, config, cutoff_ms):
            cut_count += 1
    return cut_count


async def fulfill_at(res: Resources, config: ShippingConfig, cutoff_ms: int) -> bool:
    """Cuts the configuration's order of cut-off `cutoff_ms` if this run owns the cut-off: the
    ledger row it inserted, or a stale claim whose run died."""
    ledger = res.db.fulfillment_cutoffs
    stale_ms = 2 * res.settings.job_timeout_seconds * 1000
    row = await ledger.claim(str(config.id), cutoff_ms, stale_ms)
    if row is None:
        return False
    try:
        order = await cut(
            res, config, ObjectId(row.order_id), ShippingPolicy.AUTO, cutoff_ms=cutoff_ms
        )
    except BaseException:  # let the next tick resume it now, not once the claim is stale
        await ledger.release(row)
        raise
    await ledger.settle(row, CutoffState.ORDERED if order else CutoffState.EMPTY)
    log.info(
        "AUTO cut-off %s for shipping configuration %s: %s",
        datetime.fromtimestamp(cutoff_ms / 1000, UTC).isoformat(),
        config.id,
        f"order {order.id} of {order.card_count} cards" if order else "nothing to fulfill",
    )
    return order is not None
