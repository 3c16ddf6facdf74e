"""arq's WorkerSettings, run by `python -m workers` (or `arq workers.settings.WorkerSettings`)."""

import socket
from typing import Any

from arq import cron, func
from arq.connections import RedisSettings
from arq.typing import WorkerSettingsBase

from app.lib.gc_tuning import tune_gc, tune_malloc
from app.lib.logging import configure_logging, new_log_context
from app.lib.settings import get_settings
from app.lib.url_safety import UnsafeUrl, check_url
from app.storage.resources import Resources
from workers import jobs
from workers.health import Heartbeat

_settings = get_settings()
_timeout = _settings.job_timeout_seconds


async def _check_destinations() -> None:
    """The printer and SMS gateway URLs are ours, not a merchant's, but a typo must not point
    the worker at a metadata service either: refuse to start (each request checks again)."""
    for name in ("printer_url", "sms_webhook_url"):
        url = getattr(_settings, name)
        if url:
            try:
                await check_url(url, _settings.allow_private_urls)
            except UnsafeUrl as exc:
                raise SystemExit(f"{name.upper()} refused: {exc}") from exc


async def startup(ctx: dict[str, Any]) -> None:
    tune_malloc()  # before the threads it bounds the arenas of
    configure_logging(_settings.log_level)
    await _check_destinations()
    ctx["resources"] = await Resources.open(_settings)
    ctx["heartbeat"] = Heartbeat()
    ctx["heartbeat"].start(_settings.worker_metrics_port)  # metrics and /health (0: off)
    tune_gc()


async def shutdown(ctx: dict[str, Any]) -> None:
    resources = ctx.get("resources")
    if resources:
        await resources.close()
    if ctx.get("heartbeat"):
        ctx["heartbeat"].stop()


async def job_start(ctx: dict[str, Any]) -> None:
    """Every log line of the job carries its id (each job runs in its own asyncio task)."""
    new_log_context(job_id=ctx["job_id"], job_try=ctx.get("job_try", 1))


class WorkerSettings(WorkerSettingsBase):
    redis_settings = RedisSettings.from_dsn(_settings.redis_url)
    queue_name = _settings.queue_name
    # Every function shares one short timeout: arq locks a running job for the longest
    # timeout + 10 s, and that lock is how long a crashed worker's job waits to run again.
    functions = [
        func(jobs.advance_issuance, max_tries=_settings.job_max_tries, timeout=_timeout),
        func(jobs.help_issuance, max_tries=_settings.job_max_tries, timeout=_timeout),
        func(jobs.export_failed_issuance, max_tries=_settings.job_max_tries, timeout=_timeout),
        func(jobs.switch_card_status, max_tries=_settings.job_max_tries, timeout=_timeout),
        # no kept result: its one id per batch may be queued again once it ended
        func(
            jobs.activate_scheduled,
            max_tries=_settings.job_max_tries,
            timeout=_timeout,
            keep_result=0,
        ),
        # no kept result: the sweep queues the card's next try under the same job id
        func(jobs.send_notification, timeout=_timeout, keep_result=0),
        # one attempt each: the outbox schedules the next (attempt ids are unique, none kept)
        func(jobs.deliver_webhook, max_tries=1, timeout=_timeout, keep_result=0),
        # jobs an older version queued: they put their event in the outbox
        func(jobs.deliver_callback, max_tries=_settings.job_max_tries, timeout=_timeout),
        func(
            jobs.submit_fulfillment_order, max_tries=_settings.printer_max_tries, timeout=_timeout
        ),
        func(jobs.deliver_fulfillment_webhook, max_tries=_settings.job_max_tries, timeout=_timeout),
    ]
    # Each tick and at start-up: the sweeper re-queues broken batch chains; AUTO fulfillment
    # checks for the latest cut-off, so a missed one is caught up (its ledger keeps it once
    # per cut-off across workers); the outbox's due webhooks are sent.
    cron_jobs = [
        cron(
            job,
            second=set(range(0, 60, max(1, _settings.sweep_interval_seconds))),
            run_at_startup=True,
            timeout=_timeout,
            unique=True,
        )
        for job in (jobs.sweep, jobs.fulfillment_cutoffs, jobs.deliver_webhooks)
    ]
    on_startup = staticmethod(startup)
    on_shutdown = staticmethod(shutdown)
    on_job_start = staticmethod(job_start)
    job_timeout = _timeout
    # SIGTERM: stop taking jobs and let running ones finish (a cancel would burn a try).
    job_completion_wait = _timeout
    max_jobs = 10
    poll_delay = 0.1  # seconds between queue polls: the gap when a batch hands off to a new job
    keep_result = 3600
    # `arq workers.settings.WorkerSettings --check` (the image's health check) reads this key:
    # one per host, so each container checks its own worker, not any replica's on the queue.
    health_check_key = f"{_settings.queue_name}:health-check:{socket.gethostname()}"
    health_check_interval = _settings.worker_health_check_seconds
