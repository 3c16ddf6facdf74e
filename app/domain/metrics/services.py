"""The gauges read from the stores when /metrics is scraped: tasks by state (one aggregate over
the bulk issuances, never the cards) and the arq queue's depth and oldest due job (two Redis
reads). Kept for a few seconds, so scrapes from several Prometheus servers cost one read."""

import logging
import time

from app.lib import metrics
from app.lib.types import now_ms
from app.storage.resources import Resources
from app.storage.states import TaskStatus

log = logging.getLogger(__name__)
REFRESH_SECONDS = 5.0
_refreshed_at = -REFRESH_SECONDS


async def refresh_gauges(res: Resources) -> None:
    """Reads the gauges again when they are older than REFRESH_SECONDS; a store that is down
    leaves its gauges as they were (the scrape still answers)."""
    global _refreshed_at
    if time.monotonic() - _refreshed_at < REFRESH_SECONDS:
        return
    _refreshed_at = time.monotonic()
    try:
        counts = await res.db.issuances.count_tasks_by_status()
        for state in TaskStatus:
            metrics.TASKS.labels(state.value).set(counts.get(state.value, 0))
    except Exception as exc:
        log.warning("metrics: tasks not counted (%s)", type(exc).__name__)
    try:
        await _queue(res)
    except Exception as exc:
        log.warning("metrics: queue not read (%s)", type(exc).__name__)


async def _queue(res: Resources) -> None:
    queue = res.settings.queue_name
    metrics.QUEUE_DEPTH.set(await res.redis.zcard(queue))
    # arq scores a job with the time (ms) it is due; deferred jobs are not late yet
    oldest = await res.redis.zrange(queue, 0, 0, withscores=True)
    late_ms = now_ms() - int(oldest[0][1]) if oldest else 0
    metrics.QUEUE_OLDEST_AGE.set(max(0, late_ms) / 1000)
