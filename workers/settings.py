"""arq's WorkerSettings: `arq workers.settings.WorkerSettings`."""

from arq import func
from arq.connections import RedisSettings

from app.lib.logging import configure_logging
from app.lib.resources import Resources
from app.lib.settings import get_settings
from workers import jobs

_settings = get_settings()


async def startup(ctx: dict) -> None:
    configure_logging(_settings.log_level)
    ctx["resources"] = await Resources.open(_settings)


async def shutdown(ctx: dict) -> None:
    resources = ctx.get("resources")
    if resources:
        await resources.close()


class WorkerSettings:
    redis_settings = RedisSettings.from_dsn(_settings.redis_url)
    queue_name = _settings.queue_name
    functions = [
        func(jobs.issue_chunk, max_tries=_settings.job_max_tries),
        func(jobs.finish_issuance, max_tries=_settings.job_max_tries),
        func(jobs.send_notification, max_tries=_settings.notification_max_tries),
    ]
    on_startup = startup
    on_shutdown = shutdown
    job_timeout = _settings.job_timeout_seconds
    max_jobs = 10
    keep_result = 3600
